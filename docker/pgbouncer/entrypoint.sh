#!/bin/sh
# The auth file from the environment, in a directory only this user reads; never in the image.
set -eu
umask 077
printf '"%s" "%s"\n' "$PGBOUNCER_USER" "$PGBOUNCER_PASSWORD" > /run/pgbouncer/userlist.txt
exec pgbouncer /etc/pgbouncer/compose.ini
