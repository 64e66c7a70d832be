#!/usr/bin/env bash
# Runs a throwaway ClickHouse server in the foreground on 127.0.0.1 (Debian's 18.16 package; SERVICES.md).
# Usage: .setup/services/clickhouse.sh DIR HTTP_PORT TCP_PORT [TIMEZONE]   — data and logs stay under DIR;
# TIMEZONE (default UTC) is the server's own, for tests that the schema stores UTC whatever it is.
# With CLICKHOUSE_HTTPS_PORT, CLICKHOUSE_CERT, CLICKHOUSE_KEY and CLICKHOUSE_CA set it also serves https there
# and requires a client certificate signed by that CA. The cluster `tracker_one_node` (this server alone) is for the
# sink's cluster schema variant (Cluster in the Notify entry).
set -euo pipefail
dir="$(mkdir -p "$1" && cd "$1" && pwd)"; http_port="$2"; tcp_port="$3"; timezone="${4:-UTC}"
mkdir -p "$dir/data" "$dir/tmp" "$dir/user_files" "$dir/format_schemas"
tls=""
if [ -n "${CLICKHOUSE_HTTPS_PORT:-}" ]; then
  tls="<https_port>$CLICKHOUSE_HTTPS_PORT</https_port>
  <openSSL><server>
    <certificateFile>$CLICKHOUSE_CERT</certificateFile><privateKeyFile>$CLICKHOUSE_KEY</privateKeyFile>
    <caConfig>$CLICKHOUSE_CA</caConfig><verificationMode>strict</verificationMode>
    <loadDefaultCAFile>false</loadDefaultCAFile><cacheSessions>true</cacheSessions>
    <disableProtocols>sslv2,sslv3</disableProtocols><preferServerCiphers>true</preferServerCiphers>
  </server></openSSL>"
fi
cat > "$dir/config.xml" <<XML
<yandex>
  <logger><level>warning</level><log>$dir/server.log</log><errorlog>$dir/error.log</errorlog></logger>
  <listen_host>127.0.0.1</listen_host>
  <http_port>$http_port</http_port>
  <tcp_port>$tcp_port</tcp_port>
  $tls
  <path>$dir/data/</path>
  <tmp_path>$dir/tmp/</tmp_path>
  <user_files_path>$dir/user_files/</user_files_path>
  <format_schema_path>$dir/format_schemas/</format_schema_path>
  <users_config>$dir/users.xml</users_config>
  <default_profile>default</default_profile>
  <default_database>default</default_database>
  <mark_cache_size>536870912</mark_cache_size>
  <timezone>$timezone</timezone>
  <remote_servers><tracker_one_node><shard><replica>
    <host>127.0.0.1</host><port>$tcp_port</port>
  </replica></shard></tracker_one_node></remote_servers>
</yandex>
XML
cat > "$dir/users.xml" <<XML
<yandex>
  <profiles><default>
    <date_time_input_format>best_effort</date_time_input_format>
    <input_format_skip_unknown_fields>1</input_format_skip_unknown_fields>
  </default></profiles>
  <users><default>
    <password></password>
    <networks><ip>127.0.0.1</ip><ip>::1</ip></networks>
    <profile>default</profile><quota>default</quota>
  </default></users>
  <quotas><default/></quotas>
</yandex>
XML
exec /usr/sbin/clickhouse-server --config-file="$dir/config.xml"
