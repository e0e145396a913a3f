#!/usr/bin/env bash
# Makes sure a PostgreSQL server answers on 127.0.0.1:5432 with trust
# authentication for local connections, so the store tests run on both
# SQLite and PostgreSQL. Installs Debian's postgresql package when no server
# is present. Tests create and drop their own databases.
set -eu

ready() { pg_isready -h 127.0.0.1 -p 5432 -q 2>/dev/null; }

if ready; then
	exit 0
fi
if ! ls -d /etc/postgresql/*/main >/dev/null 2>&1; then
	echo "ensure-postgres: installing PostgreSQL from Debian's packages" >&2
	apt-get update -qq
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null
fi
ver=$(ls /etc/postgresql | sort -V | tail -1)
hba=/etc/postgresql/$ver/main/pg_hba.conf
if ! grep -q "quanchain-test" "$hba"; then
	sed -i '1i host all all 127.0.0.1/32 trust # quanchain-test: local test databases' "$hba"
fi
pg_ctlcluster --skip-systemctl-redirect "$ver" main start 2>/dev/null ||
	pg_ctlcluster --skip-systemctl-redirect "$ver" main reload
for _ in $(seq 30); do
	if ready; then
		exit 0
	fi
	sleep 1
done
echo "ensure-postgres: PostgreSQL did not answer on 127.0.0.1:5432" >&2
exit 1
