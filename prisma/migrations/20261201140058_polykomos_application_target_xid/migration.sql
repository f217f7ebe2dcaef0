-- AlterTable
ALTER TABLE "polykomos_blueprint_applications" ADD COLUMN     "target_xid" TEXT;
