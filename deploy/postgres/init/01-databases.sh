#!/bin/bash
# One database and one role per service. docker-compose.yml mounts this folder into postgres:15's
# /docker-entrypoint-initdb.d, which runs it once, on an empty data volume. The roles' passwords are
# the Compose secrets directive_db_password and report_db_password (from DIRECTIVE_DB_PASSWORD and
# REPORT_DB_PASSWORD in .env), never literals here; psql quotes them (:'…'). Production databases
# come from the CloudNativePG Clusters in deploy/k8s, whose passwords live in Secrets.
set -euo pipefail
directive_password="$(cat /run/secrets/directive_db_password)"
report_password="$(cat /run/secrets/report_db_password)"
psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --dbname postgres \
  -v directive_password="$directive_password" -v report_password="$report_password" <<'SQL'
CREATE ROLE directive_api LOGIN PASSWORD :'directive_password';
CREATE DATABASE directive_api OWNER directive_api ENCODING 'UTF8' TEMPLATE template0;
REVOKE ALL ON DATABASE directive_api FROM PUBLIC;

CREATE ROLE report_api LOGIN PASSWORD :'report_password';
CREATE DATABASE report_api OWNER report_api ENCODING 'UTF8' TEMPLATE template0;
REVOKE ALL ON DATABASE report_api FROM PUBLIC;
SQL
