-- One database per service, each owned by its own role: no service reads another's.
-- Run once by psql as the superuser on an empty server (the postgres image runs it from
-- /docker-entrypoint-initdb.d); each role's password comes from the environment
-- (HBS_POSTGRES_<SERVICE>_PASSWORD), never from this file. psql 15 or newer (\getenv).
\set ON_ERROR_STOP on
\getenv identity_password HBS_POSTGRES_IDENTITY_PASSWORD
\getenv grades_password HBS_POSTGRES_GRADES_PASSWORD
\getenv signing_password HBS_POSTGRES_SIGNING_PASSWORD
\getenv portal_password HBS_POSTGRES_PORTAL_PASSWORD

-- Nobody but the superuser connects to the maintenance database either.
REVOKE ALL ON DATABASE postgres FROM PUBLIC;

CREATE ROLE identity LOGIN PASSWORD :'identity_password';
CREATE DATABASE identity OWNER identity;
REVOKE ALL ON DATABASE identity FROM PUBLIC;
GRANT CONNECT, TEMPORARY ON DATABASE identity TO identity;

CREATE ROLE grades LOGIN PASSWORD :'grades_password';
CREATE DATABASE grades OWNER grades;
REVOKE ALL ON DATABASE grades FROM PUBLIC;
GRANT CONNECT, TEMPORARY ON DATABASE grades TO grades;

CREATE ROLE signing LOGIN PASSWORD :'signing_password';
CREATE DATABASE signing OWNER signing;
REVOKE ALL ON DATABASE signing FROM PUBLIC;
GRANT CONNECT, TEMPORARY ON DATABASE signing TO signing;

CREATE ROLE portal LOGIN PASSWORD :'portal_password';
CREATE DATABASE portal OWNER portal;
REVOKE ALL ON DATABASE portal FROM PUBLIC;
GRANT CONNECT, TEMPORARY ON DATABASE portal TO portal;
