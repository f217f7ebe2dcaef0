import { PGlite } from '@electric-sql/pglite';
import pg from 'pg';
import type { Queryable } from './catalog-types.ts';

/*
 * The gateway tests' fixture schema (films, directors, actors through a junction, reviews with two foreign keys
 * to users, jsonb/array/range/tsvector/enum columns, a view and functions of every result shape) and the two
 * databases it runs on: an in-process PGlite and, when reachable, a throwaway database on the local Postgres 15.
 */

export const fixtureSql = `
CREATE TYPE public.mood AS ENUM ('sad', 'ok', 'happy');
CREATE TABLE public.directors (id int PRIMARY KEY, name text NOT NULL, born date);
CREATE TABLE public.films (
  id int PRIMARY KEY,
  title text NOT NULL,
  director_id int REFERENCES public.directors(id),
  year int,
  rating numeric(3,1),
  budget bigint,
  tags text[] DEFAULT '{}',
  meta jsonb,
  showing int4range,
  doc tsvector,
  mood public.mood DEFAULT 'ok',
  created_at timestamptz NOT NULL DEFAULT '2020-01-01T00:00:00Z'
);
CREATE TABLE public.actors (id int PRIMARY KEY, name text NOT NULL);
CREATE TABLE public.films_actors (
  film_id int REFERENCES public.films(id),
  actor_id int REFERENCES public.actors(id),
  role text,
  PRIMARY KEY (film_id, actor_id)
);
CREATE TABLE public.users (id int GENERATED ALWAYS AS IDENTITY PRIMARY KEY, handle text UNIQUE NOT NULL, active boolean);
CREATE TABLE public.reviews (
  id serial PRIMARY KEY,
  film_id int NOT NULL REFERENCES public.films(id),
  author_id int NOT NULL CONSTRAINT reviews_author_fkey REFERENCES public.users(id),
  editor_id int CONSTRAINT reviews_editor_fkey REFERENCES public.users(id),
  stars int NOT NULL,
  body text
);
CREATE TABLE public."we""ird" ("co;l" int PRIMARY KEY, "Sel ect" text);
CREATE VIEW public.film_titles AS SELECT id, title, year FROM public.films;

INSERT INTO public.directors VALUES (1, 'Agnès Varda', '1928-05-30'), (2, 'Chris Marker', '1921-07-29'), (3, 'Nobody', NULL);
INSERT INTO public.films (id, title, director_id, year, rating, budget, tags, meta, showing, doc, mood) VALUES
  (1, 'Cléo from 5 to 7', 1, 1962, 8.1, 9007199254740993, '{paris,classic}', '{"lang":"fr","awards":{"count":2}}', '[1,10)', to_tsvector('english', 'a singer waits in paris'), 'happy'),
  (2, 'La Jetée', 2, 1962, 8.3, 60000, '{short,scifi}', '{"lang":"fr","awards":{"count":1}}', '[5,20)', to_tsvector('english', 'time travel photographs'), 'sad'),
  (3, 'Sans Soleil', 2, 1983, 8.0, NULL, '{essay}', '{"lang":"fr"}', '[30,40)', to_tsvector('english', 'memory travel japan'), 'ok'),
  (4, 'Vagabond', 1, 1985, 7.9, 100, '{}', NULL, NULL, NULL, NULL);
INSERT INTO public.actors VALUES (1, 'Corinne Marchand'), (2, 'Antoine Bourseiller'), (3, 'Sandrine Bonnaire');
INSERT INTO public.films_actors VALUES (1, 1, 'Cléo'), (1, 2, 'Antoine'), (4, 3, 'Mona');
INSERT INTO public.users (handle, active) VALUES ('ann', true), ('bob', NULL);
INSERT INTO public.reviews (film_id, author_id, editor_id, stars, body) VALUES
  (1, 1, 2, 5, 'wonderful'), (1, 2, NULL, 4, 'fine'), (2, 1, 1, 5, 'haunting');
INSERT INTO public."we""ird" VALUES (1, 'x');

CREATE FUNCTION public.add_them(a int, b int) RETURNS int LANGUAGE sql IMMUTABLE AS 'SELECT a + b';
CREATE FUNCTION public.films_by_year(y int) RETURNS SETOF public.films LANGUAGE sql STABLE
  AS 'SELECT * FROM public.films WHERE year = y ORDER BY id';
CREATE FUNCTION public.years() RETURNS SETOF int LANGUAGE sql STABLE AS 'SELECT DISTINCT year FROM public.films ORDER BY 1';
CREATE FUNCTION public.touch(note text) RETURNS void LANGUAGE sql VOLATILE AS 'SELECT 1';
CREATE FUNCTION public.new_actor(name text) RETURNS public.actors LANGUAGE sql VOLATILE
  AS 'INSERT INTO public.actors (id, name) SELECT coalesce(max(id), 0) + 1, $1 FROM public.actors RETURNING *';
CREATE FUNCTION public.title_upper(f public.films) RETURNS text LANGUAGE sql STABLE AS 'SELECT upper(f.title)';
CREATE FUNCTION public.echo(json) RETURNS json LANGUAGE sql IMMUTABLE AS 'SELECT $1';
CREATE FUNCTION public.pick(x int) RETURNS text LANGUAGE sql IMMUTABLE AS 'SELECT ''int''';
CREATE FUNCTION public.pick(x int, y int DEFAULT 0) RETURNS text LANGUAGE sql IMMUTABLE AS 'SELECT ''two''';
CREATE FUNCTION public.pick(z text) RETURNS text LANGUAGE sql IMMUTABLE AS 'SELECT ''text:'' || z';
CREATE FUNCTION public.total(VARIADIC nums int[]) RETURNS int LANGUAGE sql IMMUTABLE AS 'SELECT sum(n)::int FROM unnest(nums) n';
CREATE FUNCTION public.film_stats(OUT films int, OUT latest int) LANGUAGE sql STABLE
  AS 'SELECT count(*)::int, max(year) FROM public.films';
CREATE FUNCTION public.film_years() RETURNS TABLE (fid int, fyear int) LANGUAGE sql STABLE
  AS 'SELECT id, year FROM public.films ORDER BY id';
CREATE TABLE public.screenings (id int, at date, film_id int REFERENCES public.films(id), PRIMARY KEY (id, at))
  PARTITION BY RANGE (at);
CREATE TABLE public.screenings_2020 PARTITION OF public.screenings FOR VALUES FROM ('2020-01-01') TO ('2021-01-01');
INSERT INTO public.screenings VALUES (1, '2020-02-02', 2);
-- Columns named like the compiler's own aliases.
CREATE TABLE public.tricky (t0 int PRIMARY KEY, _s text, _e text);
INSERT INTO public.tricky VALUES (21, 's', 'e');
CREATE FUNCTION public.doubled(r public.tricky) RETURNS int LANGUAGE sql STABLE AS 'SELECT r.t0 * 2';
CREATE FUNCTION public.five_star(f public.films) RETURNS SETOF public.reviews LANGUAGE sql STABLE
  AS 'SELECT * FROM public.reviews r WHERE r.film_id = f.id AND r.stars = 5';
CREATE FUNCTION public.maker(f public.films) RETURNS public.directors LANGUAGE sql STABLE
  AS 'SELECT * FROM public.directors d WHERE d.id = f.director_id';
CREATE TYPE public.pair AS (a int, b text);
CREATE FUNCTION public.pairs() RETURNS SETOF public.pair LANGUAGE sql IMMUTABLE
  AS 'SELECT * FROM (VALUES (1, ''x''), (2, ''y'')) v(a, b)';
CREATE FUNCTION public.greet(who text DEFAULT 'world') RETURNS text LANGUAGE sql IMMUTABLE AS 'SELECT ''hello '' || who';
`;

/** An in-process PGlite holding the fixture. */
export async function pgliteFixture(): Promise<{ db: Queryable; close: () => Promise<void> }> {
  const lite = new PGlite();
  await lite.exec(fixtureSql);
  const db: Queryable = {
    async query(text, values) {
      const r = await lite.query<never>(text, values);
      return { rows: r.rows, rowCount: r.affectedRows ?? r.rows.length, fields: r.fields };
    },
  };
  return { db, close: () => lite.close() };
}

const postgresUrl = 'postgresql://postgres@127.0.0.1:5432/postgres';

/**
 * A fresh database on the local Postgres 15 holding the fixture, dropped by `close`; null when the server is not
 * reachable (the caller skips, saying so).
 */
export async function postgresFixture(): Promise<{ db: Queryable; close: () => Promise<void> } | null> {
  const admin = new pg.Client({ connectionString: postgresUrl, connectionTimeoutMillis: 2000 });
  try {
    await admin.connect();
  } catch {
    return null;
  }
  const name = `athena_compiler_${process.pid}_${Date.now()}`;
  await admin.query(`CREATE DATABASE "${name}"`);
  const client = new pg.Client({ connectionString: postgresUrl.replace(/\/postgres$/, `/${name}`) });
  await client.connect();
  await client.query(fixtureSql);
  const db: Queryable = {
    async query(text, values) {
      const r = await client.query(text, values);
      return {
        rows: r.rows,
        rowCount: r.rowCount,
        fields: r.fields.map((f) => ({ name: f.name, dataTypeID: f.dataTypeID })),
      };
    },
  };
  return {
    db,
    close: async () => {
      await client.end();
      await admin.query(`DROP DATABASE "${name}"`);
      await admin.end();
    },
  };
}
