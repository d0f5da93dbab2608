#!/bin/sh
# make demo: the main job on loopback, on defaults. Starts `udpkit echo`
# (the tutorial's server, on a free port), sends a few lines with
# `udpkit send`, runs a short `udpkit ping`, shows what the server logged,
# and stops what it started (by PID), also when interrupted.
set -eu
bin=${1:-build/udpkit}
tmp=$(mktemp -d)
server=""
cleanup() {
	if [ -n "$server" ]; then kill "$server" 2>/dev/null || true; wait "$server" 2>/dev/null || true; fi
	rm -rf "$tmp"
}
trap cleanup EXIT INT TERM

"$bin" echo -b 127.0.0.1 -p 0 >"$tmp/server.out" 2>"$tmp/server.err" &
server=$!
i=0
while ! grep -q '^bound on' "$tmp/server.err" 2>/dev/null; do
	i=$((i + 1))
	if [ $i -gt 100 ] || ! kill -0 "$server" 2>/dev/null; then
		echo "demo: the echo server did not start:" >&2
		cat "$tmp/server.err" >&2
		exit 1
	fi
	sleep 0.05
done
port=$(awk '/^bound on/ {print $4; exit}' "$tmp/server.err")

echo "== udpkit echo is serving on 127.0.0.1 $port (stamp mode, like the tutorial)"
echo
echo "== udpkit send: three lines, one with an escape sequence and one in Chinese"
printf 'hello udpkit\n\033[31mnot red\033[0m\n你好，UDP\n' | "$bin" send 127.0.0.1 "$port"
echo
echo "== udpkit ping: 5 probes, 100 ms apart"
"$bin" ping -c 5 -i 0.1 127.0.0.1 "$port"
echo
echo "== udpkit send to a port where nobody listens (answered by ICMP, not a hang)"
free_port=$((port == 65535 ? 1 : port + 1))
printf 'anyone?\n' | "$bin" send -W 0.5 -r 1 127.0.0.1 "$free_port" || true
echo
kill "$server"
wait "$server" || true
server=""
echo "== what the server printed (one line per datagram, escaped), then its summary"
cat "$tmp/server.out"
cat "$tmp/server.err"
