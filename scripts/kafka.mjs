#!/usr/bin/env node
// A real single-node Apache Kafka (KRaft: controller and broker in one JVM) for development,
// tests and CI, with no Docker and no download but Maven Central:
//
//   node scripts/kafka.mjs start    fetch (once), format (once), start on 127.0.0.1:9092, wait
//   node scripts/kafka.mjs stop     stop the broker this script started
//   node scripts/kafka.mjs status   exit 0 when a broker answers, 3 when none does
//   node scripts/kafka.mjs fetch    only fetch the jars (warms a new machine's cache)
//   node scripts/kafka.mjs reset    stop, then delete the broker's data (topics, offsets)
//   node scripts/kafka.mjs logs     print the end of the broker's log
//
// The jars come from Maven Central through `mvn dependency:copy-dependencies` into a cache outside
// the repo (~/.cache/docket/kafka-<version>), which fresh clones on the same machine reuse; the
// broker's data and logs live under the same directory. `start` does nothing when a broker already
// answers on the port. Settings (env): DOCKET_KAFKA_VERSION, DOCKET_KAFKA_HOME, DOCKET_KAFKA_DATA, DOCKET_KAFKA_PORT,
// DOCKET_KAFKA_CONTROLLER_PORT, DOCKET_KAFKA_HEAP, DOCKET_KAFKA_START_TIMEOUT_MS,
// DOCKET_KAFKA_JVM_OPTS. See docs/kafka.md.
import { spawn, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, openSync, readFileSync, readdirSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { Socket } from 'node:net';
import { homedir } from 'node:os';
import { join } from 'node:path';

const VERSION = process.env.DOCKET_KAFKA_VERSION || '4.4.0';
// log4j-core is a runtime dependency of kafka-server; Kafka's own classes log through SLF4J 1.7,
// which needs this bridge to reach log4j2 (the binary distribution ships it too).
const LOG4J_VERSION = '2.25.5';
const DEPENDENCY_PLUGIN = 'org.apache.maven.plugins:maven-dependency-plugin:3.8.1';
const HOST = '127.0.0.1';
const PORT = Number(process.env.DOCKET_KAFKA_PORT || 9092);
const CONTROLLER_PORT = Number(process.env.DOCKET_KAFKA_CONTROLLER_PORT || 9093);
const HEAP = process.env.DOCKET_KAFKA_HEAP || '512m';
const START_TIMEOUT_MS = Number(process.env.DOCKET_KAFKA_START_TIMEOUT_MS || 90_000);
const CACHE = process.env.XDG_CACHE_HOME || join(homedir(), '.cache');
const HOME = process.env.DOCKET_KAFKA_HOME || join(CACHE, 'docket', `kafka-${VERSION}`);
// A second broker (test/chaos.test.ts stops and starts its own) shares the jars but not the data.
const DATA_HOME = process.env.DOCKET_KAFKA_DATA || HOME;

const paths = {
  libs: join(HOME, 'libs'),
  libsDone: join(HOME, 'libs', '.complete'),
  fetch: join(HOME, 'fetch'),
  data: join(DATA_HOME, 'data'),
  logs: join(DATA_HOME, 'logs'),
  config: join(DATA_HOME, 'server.properties'),
  log4j: join(DATA_HOME, 'log4j2.properties'),
  pid: join(DATA_HOME, 'kafka.pid'),
  cds: join(HOME, `kafka-${VERSION}.jsa`),
  lock: join(HOME, '.lock'),
};

const log = (msg) => process.stderr.write(`kafka: ${msg}\n`);
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const seconds = (ms) => `${(ms / 1000).toFixed(1)} s`;

// ---------------------------------------------------------------------------------------------
// Probe: a Metadata request (v4, no topics) over the Kafka protocol. "Answers" means the broker
// is serving requests and knows at least one broker, which a bare TCP connect does not prove
// (the socket accepts before the broker has joined its own quorum).

/** Resolves { brokers, controllerId, clusterId } or null: never rejects. */
function probe(port = PORT, host = HOST, timeoutMs = 2_000) {
  return new Promise((resolve) => {
    const socket = new Socket();
    let buf = Buffer.alloc(0);
    const done = (result) => {
      socket.destroy();
      resolve(result);
    };
    socket.setTimeout(timeoutMs, () => done(null));
    socket.once('error', () => done(null));
    socket.on('data', (chunk) => {
      buf = Buffer.concat([buf, chunk]);
      if (buf.length < 4 || buf.length < 4 + buf.readInt32BE(0)) return;
      try {
        done(parseMetadataV4(buf.subarray(4, 4 + buf.readInt32BE(0))));
      } catch {
        done(null);
      }
    });
    socket.connect(port, host, () => socket.write(metadataRequestV4()));
  });
}

function metadataRequestV4() {
  const clientId = Buffer.from('docket-kafka-probe');
  const body = Buffer.alloc(2 + 2 + 4 + 2 + clientId.length + 4 + 1);
  let o = 0;
  o = body.writeInt16BE(3, o); // api key: Metadata
  o = body.writeInt16BE(4, o); // api version
  o = body.writeInt32BE(1, o); // correlation id
  o = body.writeInt16BE(clientId.length, o);
  o += clientId.copy(body, o);
  o = body.writeInt32BE(0, o); // topics: none (v1+: an empty array means none, null means all)
  body.writeInt8(0, o); // allow_auto_topic_creation
  const size = Buffer.alloc(4);
  size.writeInt32BE(body.length);
  return Buffer.concat([size, body]);
}

function parseMetadataV4(b) {
  let o = 4; // correlation id
  o += 4; // throttle_time_ms
  const brokers = [];
  const n = b.readInt32BE(o);
  o += 4;
  const str = () => {
    const len = b.readInt16BE(o);
    o += 2;
    if (len < 0) return null;
    const s = b.toString('utf8', o, o + len);
    o += len;
    return s;
  };
  for (let i = 0; i < n; i++) {
    const nodeId = b.readInt32BE(o);
    o += 4;
    const host = str();
    const port = b.readInt32BE(o);
    o += 4;
    str(); // rack
    brokers.push({ nodeId, host, port });
  }
  const clusterId = str();
  const controllerId = b.readInt32BE(o);
  if (brokers.length === 0) return null;
  return { brokers, controllerId, clusterId };
}

function portOpen(port = PORT, host = HOST) {
  return new Promise((resolve) => {
    const s = new Socket();
    s.setTimeout(1_000, () => (s.destroy(), resolve(false)));
    s.once('error', () => resolve(false));
    s.connect(port, host, () => (s.destroy(), resolve(true)));
  });
}

// ---------------------------------------------------------------------------------------------
// Lock: `start` may run from several places at once (a developer's shell, vitest's setup, a test
// file's beforeAll); only one fetches, formats and launches.

async function withLock(fn) {
  mkdirSync(HOME, { recursive: true });
  const deadline = Date.now() + 10 * 60_000;
  for (;;) {
    try {
      mkdirSync(paths.lock);
      writeFileSync(join(paths.lock, 'pid'), String(process.pid));
      break;
    } catch (err) {
      if (err.code !== 'EEXIST') throw err;
      const holder = Number(readIfExists(join(paths.lock, 'pid')));
      if (holder && !alive(holder)) {
        rmSync(paths.lock, { recursive: true, force: true });
        continue;
      }
      if (Date.now() > deadline) throw new Error(`lock ${paths.lock} held by pid ${holder} for 10 minutes`);
      await sleep(200);
    }
  }
  try {
    return await fn();
  } finally {
    rmSync(paths.lock, { recursive: true, force: true });
  }
}

function readIfExists(path) {
  try {
    return readFileSync(path, 'utf8').trim();
  } catch {
    return '';
  }
}

function alive(pid) {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return err.code === 'EPERM';
  }
}

/** The pid of the broker this script started, if that process still runs (and is that broker). */
function ourPid() {
  const pid = Number(readIfExists(paths.pid));
  if (!pid || !alive(pid)) return null;
  const cmdline = readIfExists(`/proc/${pid}/cmdline`).replaceAll('\0', ' ');
  // A recycled pid must not be taken for the broker: check what the process runs.
  if (cmdline && !(cmdline.includes('kafka.Kafka') && cmdline.includes(paths.config))) return null;
  return pid;
}

// ---------------------------------------------------------------------------------------------
// Fetch: Maven resolves kafka_2.13 and its runtime dependencies from Maven Central (through the
// ~/.m2 repository) and copies the jars into the cache. Done once per version.

function pom() {
  const dep = (g, a, v) => `    <dependency><groupId>${g}</groupId><artifactId>${a}</artifactId><version>${v}</version></dependency>`;
  return `<?xml version="1.0" encoding="UTF-8"?>
<!-- Generated by docket scripts/kafka.mjs: the jars of a Kafka ${VERSION} broker. -->
<project xmlns="http://maven.apache.org/POM/4.0.0">
  <modelVersion>4.0.0</modelVersion>
  <groupId>dev.docket</groupId>
  <artifactId>kafka-broker-jars</artifactId>
  <version>${VERSION}</version>
  <packaging>pom</packaging>
  <dependencies>
${dep('org.apache.kafka', 'kafka_2.13', VERSION)}
${dep('org.apache.logging.log4j', 'log4j-slf4j-impl', LOG4J_VERSION)}
  </dependencies>
</project>
`;
}

function fetchJars() {
  if (existsSync(paths.libsDone)) return false;
  if (spawnSync('mvn', ['-v'], { stdio: 'ignore' }).status !== 0) {
    throw new Error('mvn not found: install Maven (apt-get install -y maven) or put it on PATH');
  }
  const started = Date.now();
  log(`fetching Kafka ${VERSION} jars from Maven Central into ${paths.libs} (once)`);
  mkdirSync(paths.fetch, { recursive: true });
  writeFileSync(join(paths.fetch, 'pom.xml'), pom());
  const partial = `${paths.libs}.partial`;
  rmSync(partial, { recursive: true, force: true });
  const mvn = spawnSync(
    'mvn',
    ['-B', '-q', '-f', join(paths.fetch, 'pom.xml'), `${DEPENDENCY_PLUGIN}:copy-dependencies`, '-DincludeScope=runtime', `-DoutputDirectory=${partial}`],
    { stdio: ['ignore', 'inherit', 'inherit'] },
  );
  if (mvn.status !== 0) throw new Error(`mvn failed (exit ${mvn.status}); see its output above`);
  const jars = readdirSync(partial).filter((f) => f.endsWith('.jar'));
  if (!jars.some((j) => j.startsWith(`kafka_2.13-${VERSION}`))) throw new Error(`mvn copied no kafka_2.13-${VERSION} jar into ${partial}`);
  writeFileSync(join(partial, '.complete'), `${VERSION}\n${jars.length} jars\n`);
  rmSync(paths.libs, { recursive: true, force: true });
  renameSync(partial, paths.libs);
  log(`fetched ${jars.length} jars in ${seconds(Date.now() - started)}`);
  return true;
}

// ---------------------------------------------------------------------------------------------
// Format and configure.

function writeConfig() {
  mkdirSync(paths.logs, { recursive: true });
  const config = {
    'process.roles': 'broker,controller',
    'node.id': 1,
    'controller.quorum.voters': `1@${HOST}:${CONTROLLER_PORT}`,
    listeners: `PLAINTEXT://${HOST}:${PORT},CONTROLLER://${HOST}:${CONTROLLER_PORT}`,
    'advertised.listeners': `PLAINTEXT://${HOST}:${PORT}`,
    'controller.listener.names': 'CONTROLLER',
    'inter.broker.listener.name': 'PLAINTEXT',
    'listener.security.protocol.map': 'PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT',
    'log.dirs': paths.data,
    // One node: every internal topic has one replica.
    'offsets.topic.replication.factor': 1,
    'transaction.state.log.replication.factor': 1,
    'transaction.state.log.min.isr': 1,
    'share.coordinator.state.topic.replication.factor': 1,
    'share.coordinator.state.topic.min.isr': 1,
    // Fast tests: a new consumer group starts at once (default waits 3 s for more members), and
    // the offsets topic is created with 1 partition instead of 50 on the first commit.
    'group.initial.rebalance.delay.ms': 0,
    'offsets.topic.num.partitions': 1,
    'num.partitions': 1,
    'auto.create.topics.enable': true,
    // A development broker: keep a day of data, in small segments.
    'log.retention.hours': 24,
    'log.segment.bytes': 16 * 1024 * 1024,
    'num.network.threads': 2,
    'num.io.threads': 4,
  };
  writeFileSync(paths.config, `# Generated by docket scripts/kafka.mjs; rewritten at every start.\n${Object.entries(config).map(([k, v]) => `${k}=${v}`).join('\n')}\n`);
  writeFileSync(
    paths.log4j,
    [
      'status = warn',
      'appender.file.type = File',
      'appender.file.name = file',
      `appender.file.fileName = ${join(paths.logs, 'server.log')}`,
      'appender.file.layout.type = PatternLayout',
      'appender.file.layout.pattern = [%d] %p %m (%c)%n',
      'rootLogger.level = info',
      'rootLogger.appenderRef.file.ref = file',
      // The per-request and state-change chatter of a dev broker is noise.
      'logger.kafka.name = kafka',
      'logger.kafka.level = info',
      'logger.request.name = kafka.request.logger',
      'logger.request.level = warn',
      'logger.statechange.name = state.change.logger',
      'logger.statechange.level = warn',
      'logger.clients.name = org.apache.kafka',
      'logger.clients.level = info',
      '',
    ].join('\n'),
  );
}

function java(mainClass, args, options = {}) {
  return spawnSync('java', ['-Xmx256m', `-Dlog4j2.configurationFile=${paths.log4j}`, '-cp', join(paths.libs, '*'), mainClass, ...args], {
    encoding: 'utf8',
    ...options,
  });
}

/** What `kafka-storage random-uuid` prints (16 random bytes, base64url), without a JVM start. */
function newClusterId() {
  for (;;) {
    const id = randomBytes(16).toString('base64url');
    if (!id.startsWith('-')) return id; // Kafka avoids these too: they read as a command-line flag
  }
}

function format() {
  if (existsSync(join(paths.data, 'meta.properties'))) return false;
  const started = Date.now();
  const clusterId = newClusterId();
  const fmt = java('kafka.tools.StorageTool', ['format', '-t', clusterId, '-c', paths.config]);
  if (fmt.status !== 0) throw new Error(`StorageTool format failed:\n${fmt.stdout}${fmt.stderr}`);
  log(`formatted ${paths.data} (cluster ${clusterId}) in ${seconds(Date.now() - started)}`);
  return true;
}

// ---------------------------------------------------------------------------------------------
// Commands.

async function start() {
  const t0 = Date.now();
  const already = await probe();
  if (already) {
    log(`a broker already answers on ${HOST}:${PORT} (cluster ${already.clusterId}); nothing to do`);
    return 0;
  }
  return withLock(async () => {
    // Someone else may have started it while we waited for the lock.
    if (await probe()) return 0;
    let pid = ourPid();
    if (!pid) {
      if (await portOpen()) {
        throw new Error(`${HOST}:${PORT} is taken by something that does not answer as a Kafka broker; stop it or set DOCKET_KAFKA_PORT`);
      }
      fetchJars();
      writeConfig();
      format();
      const t1 = Date.now();
      // Each start writes fresh logs (the previous run's are kept as *.1), so errors shown after a
      // failed start are this start's.
      for (const f of ['server.log', 'kafka.out']) {
        if (existsSync(join(paths.logs, f))) renameSync(join(paths.logs, f), join(paths.logs, `${f}.1`));
      }
      const out = openSync(join(paths.logs, 'kafka.out'), 'w');
      const child = spawn(
        'java',
        [
          `-Xms${HEAP}`,
          `-Xmx${HEAP}`,
          '-XX:+UseG1GC',
          '-XX:MaxGCPauseMillis=20',
          '-XX:+ExitOnOutOfMemoryError',
          '-Djava.awt.headless=true',
          `-Dlog4j2.configurationFile=${paths.log4j}`,
          `-Dkafka.logs.dir=${paths.logs}`,
          ...classDataSharing(),
          '-Xlog:cds=off',
          ...(process.env.DOCKET_KAFKA_JVM_OPTS ?? '').split(/\s+/).filter(Boolean),
          '-cp',
          join(paths.libs, '*'),
          'kafka.Kafka',
          paths.config,
        ],
        { detached: true, stdio: ['ignore', out, out] },
      );
      child.unref();
      pid = child.pid;
      writeFileSync(paths.pid, `${pid}\n`);
      log(`started Kafka ${VERSION} (pid ${pid}, heap ${HEAP}); logs in ${paths.logs}`);
      const ready = await waitReady(pid);
      log(`answering on ${HOST}:${PORT} after ${seconds(Date.now() - t1)} (${seconds(Date.now() - t0)} in all)`);
      return ready;
    }
    log(`broker pid ${pid} is starting; waiting for it`);
    return waitReady(pid);
  });
}

// Class data sharing: the first run records the classes the broker loads into an archive when it
// exits (at `stop`); later starts map that archive instead of loading and verifying them again
// (measured: 15.8 s to answering without it, 5.3 s with it, on the loaded 2-core machine). A stale
// or broken archive is only a warning, silenced by -Xlog:cds=off: the JVM then starts without it.
function classDataSharing() {
  return existsSync(paths.cds) ? [`-XX:SharedArchiveFile=${paths.cds}`] : [`-XX:ArchiveClassesAtExit=${paths.cds}`];
}

async function waitReady(pid) {
  const deadline = Date.now() + START_TIMEOUT_MS;
  while (Date.now() < deadline) {
    if (await probe()) return 0;
    if (!alive(pid)) {
      rmSync(paths.pid, { force: true });
      throw new Error(`the broker (pid ${pid}) exited while starting; its log:\n${tail()}`);
    }
    await sleep(200);
  }
  throw new Error(`the broker (pid ${pid}) did not answer on ${HOST}:${PORT} within ${START_TIMEOUT_MS} ms; its log:\n${tail()}`);
}

async function stop() {
  const pid = ourPid();
  if (!pid) {
    rmSync(paths.pid, { force: true });
    if (await probe()) log(`a broker answers on ${HOST}:${PORT} but this script did not start it (no pid in ${paths.pid}); leaving it`);
    else log('not running');
    return 0;
  }
  const t0 = Date.now();
  process.kill(pid, 'SIGTERM'); // controlled shutdown
  while (alive(pid) && Date.now() - t0 < 30_000) await sleep(100);
  if (alive(pid)) {
    log(`pid ${pid} still runs after 30 s; killing it`);
    process.kill(pid, 'SIGKILL');
    while (alive(pid)) await sleep(50);
  }
  rmSync(paths.pid, { force: true });
  log(`stopped pid ${pid} in ${seconds(Date.now() - t0)}`);
  return 0;
}

async function status() {
  const answer = await probe();
  const pid = ourPid();
  const lines = [
    `version:  ${VERSION}`,
    `home:     ${HOME}${existsSync(paths.libsDone) ? '' : ' (jars not fetched yet)'}`,
    `pid:      ${pid ?? '-'}`,
    `broker:   ${answer ? `answering on ${HOST}:${PORT} (cluster ${answer.clusterId}, ${answer.brokers.length} broker)` : `none on ${HOST}:${PORT}`}`,
  ];
  if (existsSync(paths.data)) lines.push(`data:     ${paths.data} (${Math.round(dirSize(paths.data) / 1024 / 1024)} MiB)`);
  process.stdout.write(`${lines.join('\n')}\n`);
  return answer ? 0 : 3;
}

function dirSize(dir) {
  let total = 0;
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    total += e.isDirectory() ? dirSize(p) : statSync(p).blocks * 512; // on disk: index files are sparse
  }
  return total;
}

/** The end of the broker's logs, after their first errors (a failed start's cause comes early). */
function tail(lines = 20) {
  const text = [join(paths.logs, 'kafka.out'), join(paths.logs, 'server.log')].map(readIfExists).join('\n').split('\n');
  const errors = text.filter((l) => /\b(ERROR|FATAL)\b|Exception:/.test(l)).slice(0, 8);
  const end = text.slice(-lines).join('\n');
  return errors.length > 0 ? `${errors.join('\n')}\n...\n${end}` : end;
}

async function reset() {
  await stop();
  rmSync(paths.data, { recursive: true, force: true });
  log(`deleted ${paths.data}`);
  return 0;
}

const commands = {
  start,
  stop,
  status,
  reset,
  fetch: () => withLock(async () => (fetchJars() || log(`jars already in ${paths.libs}`), 0)),
  logs: async () => (process.stdout.write(`${tail(60)}\n`), 0),
};

const name = process.argv[2];
const command = commands[name];
if (!command) {
  process.stderr.write(`usage: node scripts/kafka.mjs <${Object.keys(commands).join('|')}>\n`);
  process.exit(2);
}
command().then(
  (code) => process.exit(code),
  (err) => {
    log(err instanceof Error ? err.message : String(err));
    process.exit(1);
  },
);
