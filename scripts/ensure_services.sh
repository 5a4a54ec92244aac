#!/usr/bin/env bash
# Makes sure PostgreSQL (127.0.0.1:5432) and Redis (127.0.0.1:6379) answer; starts them where
# they are installed but down, and says plainly what is missing otherwise.
set -u

pg_up() { pg_isready -q -h 127.0.0.1 -p 5432 2>/dev/null || (exec 3<>/dev/tcp/127.0.0.1/5432) 2>/dev/null; }
redis_up() { [ "$(redis-cli -h 127.0.0.1 -p 6379 ping 2>/dev/null)" = "PONG" ]; }

wait_for() {  # name, check function
  for _ in $(seq 1 30); do "$2" && return 0; sleep 1; done
  echo "ERROR: $1 was started but does not answer after 30 s." >&2
  return 1
}

status=0
if ! pg_up; then
  if command -v pg_ctlcluster >/dev/null 2>&1 && [ -d /etc/postgresql ]; then
    echo "PostgreSQL is down: starting it."
    pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | head -n1)" main start || true
    wait_for PostgreSQL pg_up || status=1
  else
    echo "ERROR: PostgreSQL is not installed or not reachable on 127.0.0.1:5432." >&2
    echo "       Install it (Debian: apt-get install postgresql) or set TEST_DATABASE_URL." >&2
    status=1
  fi
fi
if ! redis_up; then
  if command -v redis-server >/dev/null 2>&1; then
    echo "Redis is down: starting it."
    mkdir -p /var/lib/redis /var/log/redis 2>/dev/null || true
    redis-server --daemonize yes --bind 127.0.0.1 -::1 --port 6379 --save "" --appendonly no \
      --dir /var/lib/redis --logfile /var/log/redis/ci.log || true
    wait_for Redis redis_up || status=1
  else
    echo "ERROR: Redis is not installed or not reachable on 127.0.0.1:6379." >&2
    echo "       Install it (Debian: apt-get install redis-server) or set TEST_BROKER_URL." >&2
    status=1
  fi
fi
[ $status -eq 0 ] && echo "PostgreSQL and Redis are reachable."
exit $status
