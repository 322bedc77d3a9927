-- One database and one role per service (docker-compose.yml mounts this folder into postgres:15's
-- /docker-entrypoint-initdb.d, which runs it once, on an empty data volume).
-- The passwords are DEVELOPMENT values and must match .env.example; production databases come from
-- the CloudNativePG Cluster in deploy/k8s, whose passwords live in Secrets.
CREATE ROLE directive_api LOGIN PASSWORD 'directive_api_dev';
CREATE DATABASE directive_api OWNER directive_api ENCODING 'UTF8' TEMPLATE template0;
REVOKE ALL ON DATABASE directive_api FROM PUBLIC;

CREATE ROLE report_api LOGIN PASSWORD 'report_api_dev';
CREATE DATABASE report_api OWNER report_api ENCODING 'UTF8' TEMPLATE template0;
REVOKE ALL ON DATABASE report_api FROM PUBLIC;
