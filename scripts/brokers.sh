#!/usr/bin/env bash
# Starts and stops the brokers amqplink's integration tests use, on loopback only:
# RabbitMQ with its AMQP 1.0 plugin (AMQP 0-9-1 and 1.0 on 127.0.0.1:5672, TLS on
# 127.0.0.1:5671 with a CA and certificate made here).
#
#   scripts/brokers.sh start     install (Debian packages) if missing, configure, start, wait
#   scripts/brokers.sh stop      stop what start started (nothing else)
#   scripts/brokers.sh restart   stop, then start
#   scripts/brokers.sh status    exit 0 when RabbitMQ answers, 3 when not
#   scripts/brokers.sh ctl ARGS  run rabbitmqctl ARGS against the started node
#
# No systemd: RabbitMQ runs as the rabbitmq user in the background, with its
# configuration, data, logs and certificates under $AMQPLINK_BROKER_DIR
# (default /tmp/amqplink-brokers). Safe to run twice. Needs root to install.
set -euo pipefail

DIR=${AMQPLINK_BROKER_DIR:-/tmp/amqplink-brokers}
NODE=rabbit@localhost
AMQP_PORT=5672
TLS_PORT=5671
READY_TIMEOUT=${AMQPLINK_BROKER_TIMEOUT:-180}
MARKER=$DIR/started-by-brokers-sh

log() { printf 'brokers: %s\n' "$*" >&2; }
die() { log "$*"; exit 1; }

# answers PORT: true when something accepts TCP connections on 127.0.0.1:PORT.
answers() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

as_rabbitmq() {
	# One environment for the server and the CLI, so they share the node name and
	# the Erlang cookie in the rabbitmq user's home.
	runuser -u rabbitmq -- env \
		HOME=/var/lib/rabbitmq \
		RABBITMQ_NODENAME="$NODE" \
		RABBITMQ_CONFIG_FILE="$DIR/rabbitmq.conf" \
		RABBITMQ_ENABLED_PLUGINS_FILE="$DIR/enabled_plugins" \
		RABBITMQ_MNESIA_BASE="$DIR/mnesia" \
		RABBITMQ_LOG_BASE="$DIR/log" \
		RABBITMQ_PID_FILE="$DIR/rabbitmq.pid" \
		RABBITMQ_SERVER_ADDITIONAL_ERL_ARGS="-kernel inet_dist_use_interface {127,0,0,1}" \
		ERL_EPMD_ADDRESS=127.0.0.1 \
		"$@"
}

install_rabbitmq() {
	if command -v rabbitmq-server >/dev/null 2>&1 && dpkg -s rabbitmq-server >/dev/null 2>&1; then
		return
	fi
	[ "$(id -u)" -eq 0 ] || die "rabbitmq-server is not installed and installing it needs root"
	log "installing rabbitmq-server (Debian package)"
	# Keep the package's init script from starting a broker of its own.
	local policy=/usr/sbin/policy-rc.d made_policy=0
	if [ ! -e "$policy" ]; then
		printf '#!/bin/sh\nexit 101\n' >"$policy"
		chmod +x "$policy"
		made_policy=1
	fi
	export DEBIAN_FRONTEND=noninteractive
	local ok=0
	for _ in 1 2 3; do
		# CI machines start with stale package lists.
		if apt-get -o DPkg::Lock::Timeout=300 update -qq &&
			apt-get -o DPkg::Lock::Timeout=300 install -y -qq --no-install-recommends rabbitmq-server >/dev/null; then
			ok=1
			break
		fi
		log "apt-get failed; retrying"
		sleep 5
	done
	[ "$made_policy" -eq 1 ] && rm -f "$policy"
	[ "$ok" -eq 1 ] || die "could not install rabbitmq-server"
}

make_certs() {
	local tls=$DIR/tls
	[ -s "$tls/ca.pem" ] && [ -s "$tls/server.pem" ] && [ -s "$tls/server.key" ] && return
	command -v openssl >/dev/null 2>&1 || { apt-get update -qq && apt-get install -y -qq openssl >/dev/null; }
	log "making a test CA and server certificate in $tls"
	mkdir -p "$tls"
	openssl req -x509 -newkey rsa:2048 -nodes -days 3650 -subj "/CN=amqplink test CA" \
		-keyout "$tls/ca.key" -out "$tls/ca.pem" 2>/dev/null
	openssl req -newkey rsa:2048 -nodes -subj "/CN=localhost" \
		-keyout "$tls/server.key" -out "$tls/server.csr" 2>/dev/null
	printf 'subjectAltName=DNS:localhost,IP:127.0.0.1\nextendedKeyUsage=serverAuth\n' >"$tls/server.ext"
	openssl x509 -req -in "$tls/server.csr" -CA "$tls/ca.pem" -CAkey "$tls/ca.key" -CAcreateserial \
		-days 3650 -extfile "$tls/server.ext" -out "$tls/server.pem" 2>/dev/null
	rm -f "$tls/server.csr" "$tls/server.ext"
}

write_config() {
	mkdir -p "$DIR/log" "$DIR/mnesia"
	cat >"$DIR/rabbitmq.conf" <<EOF
listeners.tcp.default = 127.0.0.1:$AMQP_PORT
listeners.ssl.default = 127.0.0.1:$TLS_PORT
ssl_options.cacertfile = $DIR/tls/ca.pem
ssl_options.certfile = $DIR/tls/server.pem
ssl_options.keyfile = $DIR/tls/server.key
ssl_options.verify = verify_none
ssl_options.fail_if_no_peer_cert = false
loopback_users.guest = true
disk_free_limit.absolute = 50MB
vm_memory_high_watermark.relative = 0.3
log.console = false
log.file.level = info
EOF
	echo '[rabbitmq_amqp1_0].' >"$DIR/enabled_plugins"
	chown -R rabbitmq:rabbitmq "$DIR"
	chmod 0755 "$DIR"
}

start() {
	if answers "$AMQP_PORT"; then
		log "RabbitMQ already answers on 127.0.0.1:$AMQP_PORT"
		[ -d "$DIR/tls" ] || log "warning: it was not started by this script; TLS tests need $DIR/tls/ca.pem"
		print_env
		return
	fi
	install_rabbitmq
	mkdir -p "$DIR"
	make_certs
	write_config
	log "starting RabbitMQ ($NODE) with state in $DIR"
	: >"$DIR/log/console.log"
	chown rabbitmq:rabbitmq "$DIR/log/console.log"
	# setsid: the broker outlives this script and its caller's process group.
	setsid bash -c "$(declare -f as_rabbitmq); DIR='$DIR' NODE='$NODE' as_rabbitmq rabbitmq-server" \
		>>"$DIR/log/console.log" 2>&1 </dev/null &
	touch "$MARKER"

	local waited=0
	until answers "$AMQP_PORT" && answers "$TLS_PORT"; do
		if [ "$waited" -ge "$READY_TIMEOUT" ]; then
			log "RabbitMQ did not answer within ${READY_TIMEOUT}s; last log lines:"
			tail -n 40 "$DIR/log/console.log" "$DIR"/log/*.log 2>/dev/null >&2 || true
			exit 1
		fi
		sleep 1
		waited=$((waited + 1))
	done
	# The listeners open before the node finishes booting its plugins.
	as_rabbitmq rabbitmqctl -q await_startup --timeout "$READY_TIMEOUT" >/dev/null 2>&1 ||
		log "warning: rabbitmqctl await_startup did not confirm; the ports answer"
	log "RabbitMQ is ready after ${waited}s: AMQP 0-9-1 and 1.0 on 127.0.0.1:$AMQP_PORT, TLS on 127.0.0.1:$TLS_PORT"
	print_env
}

print_env() {
	echo "export AMQPLINK_RABBITMQ_URL=amqp://guest:guest@127.0.0.1:$AMQP_PORT"
	[ -f "$DIR/tls/ca.pem" ] && echo "export AMQPLINK_TLS_CA=$DIR/tls/ca.pem"
	return 0
}

stop() {
	if [ ! -f "$MARKER" ]; then
		log "nothing to stop: this script did not start a broker"
		return
	fi
	log "stopping RabbitMQ ($NODE)"
	as_rabbitmq rabbitmqctl -q stop >/dev/null 2>&1 || true
	local waited=0
	while answers "$AMQP_PORT" && [ "$waited" -lt 60 ]; do
		sleep 1
		waited=$((waited + 1))
	done
	if answers "$AMQP_PORT" && [ -s "$DIR/rabbitmq.pid" ]; then
		kill "$(cat "$DIR/rabbitmq.pid")" 2>/dev/null || true
	fi
	rm -f "$MARKER"
}

status() {
	local rc=0
	if answers "$AMQP_PORT"; then echo "RabbitMQ: answers on 127.0.0.1:$AMQP_PORT"; else echo "RabbitMQ: not answering on 127.0.0.1:$AMQP_PORT"; rc=3; fi
	if answers "$TLS_PORT"; then echo "RabbitMQ TLS: answers on 127.0.0.1:$TLS_PORT"; else echo "RabbitMQ TLS: not answering on 127.0.0.1:$TLS_PORT"; fi
	[ -f "$MARKER" ] && echo "started by this script; state in $DIR"
	return "$rc"
}

case "${1:-}" in
start) start ;;
stop) stop ;;
restart)
	stop
	start
	;;
status) status ;;
ctl)
	shift
	as_rabbitmq rabbitmqctl "$@"
	;;
*)
	echo "usage: $0 start|stop|restart|status|ctl ARGS..." >&2
	exit 2
	;;
esac
