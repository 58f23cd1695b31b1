#!/usr/bin/env bash
# Checks the deployment examples of docs/scaling.md by hand (not part of npm test):
#   1. the systemd template unit with `systemd-analyze verify`, the HAProxy config with
#      `haproxy -c`, the nginx `stream` config with `nginx -t`, each as the doc prints it;
#   2. end to end on 127.0.0.1: a private redis-server, 3 nodes from this checkout with
#      --proxy-protocol, HAProxy (send-proxy-v2) and nginx (proxy_protocol on) in front
#      with the doc's configs (ports replaced by free ones); a client bound to 127.0.0.2
#      registers and relays through each balancer, and the nodes log 127.0.0.2; a
#      connection straight to a node without a header is closed without a reply.
# A tool that is not installed is skipped with one line (Debian: apt-get install
# systemd haproxy nginx libnginx-mod-stream redis-server). Exit code 1 on a failure.
# Stops only the processes it started, by pid.
#
#   bash tools/check-scaling-docs.sh
set -u
ROOT=$(cd "$(dirname "$0")/.." && pwd)
DOC="$ROOT/docs/scaling.md"
WORK=$(mktemp -d)
PIDS=()
FAILED=0
cleanup() {
  for pid in "${PIDS[@]}"; do kill -TERM "$pid" 2>/dev/null; done
  for _ in $(seq 1 50); do
    alive=0
    for pid in "${PIDS[@]}"; do kill -0 "$pid" 2>/dev/null && alive=1; done
    [ $alive = 0 ] && break
    sleep 0.1
  done
  for pid in "${PIDS[@]}"; do kill -KILL "$pid" 2>/dev/null; done
  rm -rf "$WORK"
}
trap cleanup EXIT
ok() { echo "ok   $*"; }
fail() { echo "FAIL $*"; FAILED=1; }
skip() { echo "skip $*"; }
has() { command -v "$1" >/dev/null 2>&1; }

# The fenced blocks of the doc, one file each: block-1, block-2, …
awk -v dir="$WORK" '/^```/ { if (open) { open = 0 } else { open = 1; n++; file = dir "/block-" n } ; next } open { print > file }' "$DOC"
block() { grep -l -- "$1" "$WORK"/block-* | head -1; }
UNIT=$(block '^# /etc/systemd/system/chat-roulette@.service')
HAPROXY=$(block '^frontend roulette')
NGINX=$(block '^stream {')
for what in UNIT HAPROXY NGINX; do [ -n "${!what}" ] || fail "docs/scaling.md has no $what block"; done

# 1. The configs as printed.
if has systemd-analyze && [ -n "$UNIT" ]; then
  mkdir -p "$WORK/units" && cp "$UNIT" "$WORK/units/chat-roulette@.service"
  out=$(cd "$WORK/units" && systemd-analyze verify ./chat-roulette@2.service 2>&1)
  if [ -z "$out" ]; then ok "systemd-analyze verify chat-roulette@2.service: no remark"; else fail "systemd-analyze verify: $out"; fi
else skip "systemd unit (no systemd-analyze)"; fi
if has haproxy && [ -n "$HAPROXY" ]; then
  if out=$(haproxy -c -f "$HAPROXY" 2>&1); then ok "haproxy -c: $(echo "$out" | tail -1)"; else fail "haproxy -c: $out"; fi
else skip "HAProxy config (no haproxy)"; fi
NGINX_MODULE=/usr/lib/nginx/modules/ngx_stream_module.so
nginx_conf() { # $1 = stream block file, $2 = output
  { [ -f "$NGINX_MODULE" ] && echo "load_module $NGINX_MODULE;"
    echo "error_log $WORK/nginx-error.log; pid $WORK/nginx.pid; events {}"
    cat "$1"; } > "$2"
}
if has nginx && [ -n "$NGINX" ]; then
  nginx_conf "$NGINX" "$WORK/nginx-doc.conf"
  if out=$(nginx -t -c "$WORK/nginx-doc.conf" 2>&1); then ok "nginx -t: syntax is ok"; else fail "nginx -t: $out"; fi
else skip "nginx config (no nginx)"; fi

# 2. End to end.
if ! has redis-server; then skip "end to end (no redis-server)"; exit $FAILED; fi
free_port() { node -e "const s=require('net').createServer().listen(0,'127.0.0.1',()=>{console.log(s.address().port);s.close()})"; }
wait_for() { # $1 = pattern, $2 = file
  for _ in $(seq 1 600); do grep -q -- "$1" "$2" 2>/dev/null && return 0; sleep 0.1; done; return 1
}
REDIS_PORT=$(free_port)
redis-server --port "$REDIS_PORT" --bind 127.0.0.1 --save '' --appendonly no > "$WORK/redis.log" 2>&1 &
PIDS+=($!)
wait_for 'Ready to accept connections' "$WORK/redis.log" || fail "redis-server did not start"
NODE_PORTS=()
for i in 1 2 3; do
  port=$(free_port)
  NODE_PORTS+=("$port")
  (cd "$ROOT" && exec node --conditions=source --import tsx src/cli/main.ts start --host 127.0.0.1 --port "$port" \
    --proxy-protocol --redis "redis://127.0.0.1:$REDIS_PORT" --cluster docs-check --node-id "n$i") \
    > "$WORK/node$i.out" 2> "$WORK/node$i.err" &
  PIDS+=($!)
done
for i in 1 2 3; do wait_for 'listening on' "$WORK/node$i.out" || fail "node $i did not start: $(cat "$WORK/node$i.err")"; done
wait_port() { # $1 = port
  for _ in $(seq 1 100); do
    node -e "require('net').connect($1,'127.0.0.1').on('connect',function(){this.destroy()}).on('error',()=>process.exit(1))" && return 0
    sleep 0.1
  done
  return 1
}
ports() { sed -e "s/127.0.0.1:44341/127.0.0.1:${NODE_PORTS[0]}/" -e "s/127.0.0.1:44342/127.0.0.1:${NODE_PORTS[1]}/" -e "s/127.0.0.1:44343/127.0.0.1:${NODE_PORTS[2]}/" "$1"; }

# A client from 127.0.0.2 and its peer: ack, pair, one comm relayed.
run_clients() { # $1 = balancer port, $2 = uco prefix
  node --input-type=module -e "
    import net from 'node:net';
    const [port, prefix] = [Number(process.argv[1]), process.argv[2]];
    const until = async (f) => { const end = Date.now() + 30000; while (!f()) { if (Date.now() > end) throw new Error('no answer'); await new Promise((r) => setTimeout(r, 20)); } };
    const client = (uco) => new Promise((resolve, reject) => {
      const s = net.connect({ host: '127.0.0.1', port, localAddress: '127.0.0.2' });
      const lines = []; let rest = '';
      s.setEncoding('utf8').on('error', reject).on('data', (t) => { const p = (rest + t).split('\n'); rest = p.pop(); for (const l of p) { lines.push(l); if (l === '{\"cmd\":\"ping\"}') s.write('{\"cmd\":\"pong\"}\n'); } });
      s.on('connect', () => { s.write(JSON.stringify({ cmd: 'connect', uco, nonce: 1 }) + '\n'); resolve({ s, lines }); });
    });
    const a = await client(prefix + '1'); const b = await client(prefix + '2');
    await until(() => [a, b].every((c) => c.lines.some((l) => l.startsWith('{\"cmd\":\"pair\"'))));
    a.s.write('{\"cmd\":\"comm\",\"msg\":\"through the balancer\"}\n');
    await until(() => b.lines.includes('{\"cmd\":\"comm\",\"msg\":\"through the balancer\"}'));
    a.s.destroy(); b.s.destroy();
  " "$1" "$2"
}
check_balancer() { # $1 = name, $2 = port, $3 = uco prefix
  local before after
  before=$(cat "$WORK"/node*.err | grep -c "Client connected from 127.0.0.2:")
  if ! run_clients "$2" "$3"; then fail "$1: clients did not pair and relay"; return; fi
  after=$(cat "$WORK"/node*.err | grep -c "Client connected from 127.0.0.2:")
  if [ $((after - before)) = 2 ]; then
    ok "$1: two clients from 127.0.0.2 paired and relayed; the nodes log 127.0.0.2"
  else fail "$1: the nodes did not log the client's address 127.0.0.2"; fi
}
if has haproxy && [ -n "$HAPROXY" ]; then
  port=$(free_port)
  ports "$HAPROXY" | sed -e "s/bind :44333/bind 127.0.0.1:$port/" > "$WORK/haproxy.cfg"
  haproxy -db -f "$WORK/haproxy.cfg" > "$WORK/haproxy.log" 2>&1 &
  PIDS+=($!)
  wait_port "$port"
  check_balancer "HAProxy send-proxy-v2" "$port" h
fi
if has nginx && [ -n "$NGINX" ]; then
  port=$(free_port)
  ports "$NGINX" | sed -e "s/listen 44333;/listen 127.0.0.1:$port;/" > "$WORK/nginx-stream"
  nginx_conf "$WORK/nginx-stream" "$WORK/nginx.conf"
  nginx -c "$WORK/nginx.conf" -g 'daemon off; master_process off;' > "$WORK/nginx.log" 2>&1 &
  PIDS+=($!)
  wait_port "$port"
  check_balancer "nginx proxy_protocol on" "$port" x
fi
answer=$(node -e "
  const s = require('net').connect(${NODE_PORTS[0]}, '127.0.0.1', () => s.write('{\"cmd\":\"connect\",\"uco\":\"direct\",\"nonce\":1}\n'));
  let got = ''; s.on('data', (d) => (got += d)).on('error', () => {}).on('close', () => { console.log(JSON.stringify(got)); process.exit(0); });
  setTimeout(() => { console.log('still open'); process.exit(0); }, 20000);")
if [ "$answer" = '""' ]; then ok "a connection without a PROXY header is closed without a reply"; else fail "a connection without a header got: $answer"; fi
exit $FAILED
