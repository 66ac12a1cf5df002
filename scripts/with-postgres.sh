#!/usr/bin/env bash
# Runs a command with REWIND_POSTGRES_URL pointing at a PostgreSQL server.
#
#   scripts/with-postgres.sh swift test
#   scripts/with-postgres.sh swift run -c release rewind-bench
#
# When REWIND_POSTGRES_URL is set, the command runs against that server as it is. Otherwise a
# temporary cluster is created in a new directory under /tmp, on a free localhost port, and is
# stopped and removed when the command ends. Debian's `postgresql` package is installed first
# when missing (as root; its default cluster is kept from starting). The server refuses to run
# as root, so as root initdb and pg_ctl run as the `postgres` user.
#
# Exported to the command: REWIND_POSTGRES_URL (the superuser `postgres`, password `rewind`,
# database `postgres`), and for the test that stops a server on purpose a second server of its
# own, REWIND_POSTGRES_OUTAGE_URL, with REWIND_POSTGRES_RESTART (a script: `stop`, `start` or
# `restart`) that controls it.
set -euo pipefail

if [ -n "${REWIND_POSTGRES_URL:-}" ]; then
    exec "$@"
fi

find_bindir() { ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1; }

bindir=$(find_bindir)
if [ -z "$bindir" ]; then
    if [ "$(id -u)" -ne 0 ]; then
        echo "PostgreSQL is not installed and this is not root: run 'sudo apt-get install -y postgresql'," \
            "or set REWIND_POSTGRES_URL to a server." >&2
        exit 1
    fi
    echo "== installing PostgreSQL (apt-get install postgresql; about a minute)" >&2
    # Keep the package's default cluster from being created and started.
    mkdir -p /etc/postgresql-common
    if [ ! -e /etc/postgresql-common/createcluster.conf ]; then
        echo "create_main_cluster = false" > /etc/postgresql-common/createcluster.conf
    fi
    policy_added=0
    if [ ! -e /usr/sbin/policy-rc.d ]; then
        printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d
        chmod +x /usr/sbin/policy-rc.d
        policy_added=1
    fi
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql > /tmp/rewind-postgres-install.log 2>&1 || {
        cat /tmp/rewind-postgres-install.log >&2
        exit 1
    }
    if [ "$policy_added" -eq 1 ]; then rm -f /usr/sbin/policy-rc.d; fi
    bindir=$(find_bindir)
fi

as_server_user() {
    if [ "$(id -u)" -eq 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

dirs=()
stop_servers() {
    for dir in "${dirs[@]}"; do
        as_server_user "$bindir/pg_ctl" -D "$dir/data" -m immediate -w stop > /dev/null 2>&1 || true
        rm -rf "$dir"
    done
}
trap stop_servers EXIT

# Creates and starts a cluster in a new directory on a free port; sets $dir and $port.
start_cluster() {
    dir=$(mktemp -d /tmp/rewind-postgres.XXXXXX)
    dirs+=("$dir")
    chmod 755 "$dir"
    if [ "$(id -u)" -eq 0 ]; then chown postgres "$dir"; fi
    port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')

    echo rewind > "$dir/password"
    if [ "$(id -u)" -eq 0 ]; then chown postgres "$dir/password"; fi
    as_server_user "$bindir/initdb" -D "$dir/data" -U postgres --pwfile="$dir/password" \
        --auth-local=trust --auth-host=scram-sha-256 -E UTF8 > "$dir/initdb.log" 2>&1 || {
        cat "$dir/initdb.log" >&2
        exit 1
    }

    cat > "$dir/control" <<EOF
#!/usr/bin/env bash
# stop | start | restart the test server (for tests that take the database away on purpose)
set -euo pipefail
run() { if [ "\$(id -u)" -eq 0 ]; then runuser -u postgres -- "\$@"; else "\$@"; fi; }
case "\${1:-restart}" in
    stop) run "$bindir/pg_ctl" -D "$dir/data" -m fast -w stop > /dev/null ;;
    start) run "$bindir/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w start > /dev/null ;;
    restart) run "$bindir/pg_ctl" -D "$dir/data" -l "$dir/server.log" -m fast -w restart > /dev/null ;;
    *) echo "usage: \$0 stop|start|restart" >&2; exit 2 ;;
esac
EOF
    chmod 755 "$dir/control"

    # In the configuration file, not on the command line, so the control script's stop + start keeps them.
    cat >> "$dir/data/postgresql.conf" <<EOF
port = $port
listen_addresses = '127.0.0.1'
unix_socket_directories = '$dir'
max_connections = 300
EOF
    as_server_user "$bindir/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w start > /dev/null || {
        cat "$dir/server.log" >&2
        exit 1
    }
    echo "== PostgreSQL $("$bindir/postgres" --version | awk '{print $3}') on 127.0.0.1:$port (data in $dir/data)" >&2
}

# The server the tests share.
start_cluster
export REWIND_POSTGRES_URL="postgres://postgres:rewind@127.0.0.1:$port/postgres"
# A second server of its own for the test that stops and starts it, so that the outage does
# not reach the tests running at the same time.
start_cluster
export REWIND_POSTGRES_OUTAGE_URL="postgres://postgres:rewind@127.0.0.1:$port/postgres"
export REWIND_POSTGRES_RESTART="$dir/control"
status=0
"$@" || status=$?
exit "$status"
