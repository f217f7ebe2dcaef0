/** Where the Polykomos contract is mounted; URLs the surface hands out (such as `poll_url`) start with it. */
export const polykomosPrefix = '/polykomos';
