// Times onnxruntime CPU inference of several models on the same random
// inputs, interleaving the models run by run so that machine noise hits them
// alike. Prints one JSON object: per model, the median and all run times.
//
//   node ort_latency.js --runs 30 --threads 1 --input ids:int64:4x128:50257 \
//        --opt-dir DIR --profile-ops A,B a.onnx b.onnx
// --opt-dir saves each session's optimized graph (to see what it fused).
// --profile-ops runs each model once more with onnxruntime's profiler and
// reports the share of the run's kernel time spent in the listed op types.
const path = require('path');
const fs = require('fs');
const ortDir = process.env.ORT_NODE_MODULES ||
    path.join(__dirname, '..', 'test', 'e2e', 'node_modules');
const ort = require(path.join(ortDir, 'onnxruntime-node'));

function parseArgs(argv) {
  const args = {runs: 30, warmup: 3, threads: 1, inputs: [], models: [], optDir: null,
                profileOps: null};
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--runs') args.runs = parseInt(argv[++i]);
    else if (a === '--warmup') args.warmup = parseInt(argv[++i]);
    else if (a === '--threads') args.threads = parseInt(argv[++i]);
    else if (a === '--input') args.inputs.push(argv[++i]);
    else if (a === '--opt-dir') args.optDir = argv[++i];
    else if (a === '--profile-ops') args.profileOps = argv[++i].split(',');
    else args.models.push(a);
  }
  return args;
}

// name:type:dims:bound -> a tensor of deterministic pseudo-random values.
function makeInput(spec) {
  const [name, type, dimsText, boundText] = spec.split(':');
  const dims = dimsText.split('x').map(Number);
  const n = dims.reduce((a, b) => a * b, 1);
  const bound = Number(boundText || 1);
  let state = 12345;
  const next = () => (state = (state * 1103515245 + 12345) % 2147483648) / 2147483648;
  if (type === 'int64')
    return [name, new ort.Tensor('int64', BigInt64Array.from({length: n}, () => BigInt(Math.floor(next() * bound))), dims)];
  return [name, new ort.Tensor('float32', Float32Array.from({length: n}, () => (next() * 2 - 1) * bound), dims)];
}

// The share of kernel time spent in `args.profileOps` in one profiled run.
async function profiledShare(model, feeds, args) {
  const os = require('os');
  const prefix = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'ort-prof-')), 'run');
  const session = await ort.InferenceSession.create(model, {
    intraOpNumThreads: args.threads, interOpNumThreads: 1, executionMode: 'sequential',
    enableProfiling: true, profileFilePrefix: prefix});
  for (let i = 0; i < args.warmup; i++) await session.run(feeds);
  session.startProfiling();
  await session.run(feeds);
  session.endProfiling();
  const dir = path.dirname(prefix);
  const file = fs.readdirSync(dir).map(f => path.join(dir, f)).find(f => f.endsWith('.json'));
  const events = JSON.parse(fs.readFileSync(file, 'utf8'));
  // Only the last run: node events after the last model_run began.
  const runs = events.filter(e => e.name === 'model_run');
  const start = runs.length ? runs[runs.length - 1].ts : 0;
  let total = 0, selected = 0;
  for (const e of events) {
    if (e.cat !== 'Node' || e.ts < start || !e.args || !e.args.op_name ||
        !e.name.endsWith('_kernel_time'))
      continue;
    total += e.dur;
    if (args.profileOps.includes(e.args.op_name)) selected += e.dur;
  }
  fs.rmSync(dir, {recursive: true, force: true});
  return total ? selected / total : null;
}

function median(xs) {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

(async () => {
  const args = parseArgs(process.argv.slice(2));
  const feeds = Object.fromEntries(args.inputs.map(makeInput));
  const sessions = [];
  for (const model of args.models) {
    const options = {intraOpNumThreads: args.threads, interOpNumThreads: 1,
                     executionMode: 'sequential'};
    if (args.optDir)
      options.optimizedModelFilePath = path.join(args.optDir, path.basename(model, '.onnx') + '.ort-opt.onnx');
    sessions.push(await ort.InferenceSession.create(model, options));
  }
  for (const s of sessions)
    for (let i = 0; i < args.warmup; i++) await s.run(feeds);
  const times = sessions.map(() => []);
  for (let r = 0; r < args.runs; r++)
    for (let k = 0; k < sessions.length; k++) {
      const t0 = process.hrtime.bigint();
      await sessions[k].run(feeds);
      times[k].push(Number(process.hrtime.bigint() - t0) / 1e6);
    }
  const result = {};
  args.models.forEach((m, k) => result[m] = {median_ms: median(times[k]), runs_ms: times[k]});
  if (args.profileOps)
    for (const model of args.models)
      result[model].profiled_share = await profiledShare(model, feeds, args);
  console.log(JSON.stringify(result));
})().catch(e => { console.error(String(e)); process.exit(1); });
