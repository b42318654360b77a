#!/usr/bin/env node
// ort_run.js: onnxruntime (CPU, from npm's onnxruntime-node) for the
// norm_opt Python package (norm_opt.verify, norm_opt.calibrate) and, through
// it, the independent oracle of the end-to-end tests and the benchmarks.
//
//   node ort_run.js MODEL [--input NAME=FILE]... [--out-dir DIR]
//                   [--opt-level disabled|basic|extended|all]
//                   [--optimized-model PATH] [--no-run]
//   node ort_run.js --batch JOBS.json
//   node ort_run.js --serve
//
// An input FILE is one of
//   x.npy                    a NumPy array (little-endian, C order)
//   x.json                   {"dtype": "float32", "shape": [2, 3], "data": [...]}
//   x.bin:DTYPE:D0xD1x...    raw little-endian bytes of that type and shape
//                            (an empty shape, `x.bin:float32:`, is a scalar)
// Outputs are written as DIR/output_<i>.npy in graph-output order, with
// DIR/outputs.json listing {name, file, dtype, shape} for each.
//
// --optimized-model writes the model as onnxruntime optimized it at
// --opt-level (offline optimization); --no-run only creates the session.
//
// A batch file is a JSON list of jobs, each {"model", "inputs": {NAME: FILE},
// "out_dir", "opt_level", "optimized_model", "run"}; one process serves them
// all (loading onnxruntime once) and prints one JSON line per job:
// {"job": i, "ok": true|false, "error": "...", "create_ms", "run_ms"}.
// The exit status is non-zero if any job failed.
//
// --serve reads one job (the same JSON object) per line on stdin and answers
// each with its JSON line as it finishes, until stdin closes: a long-lived
// worker for callers that run many small models one after another (the
// differential fuzzer, test/fuzz/diff_fuzz.py).
//
// onnxruntime-node is loaded from $ORT_NODE_MODULES when set (the
// norm_opt package sets it to the node_modules folder it found, e.g. the
// checkout's test/e2e/node_modules), else by Node's usual resolution.
'use strict';

const fs = require('fs');
const path = require('path');
const ort = require(process.env.ORT_NODE_MODULES
    ? path.join(process.env.ORT_NODE_MODULES, 'onnxruntime-node') : 'onnxruntime-node');

// NumPy descr <-> onnxruntime tensor type and typed array.
const DTYPES = {
  float32: {descr: '<f4', array: Float32Array},
  float64: {descr: '<f8', array: Float64Array},
  float16: {descr: '<f2', array: Uint16Array},
  int64: {descr: '<i8', array: BigInt64Array},
  uint64: {descr: '<u8', array: BigUint64Array},
  int32: {descr: '<i4', array: Int32Array},
  uint32: {descr: '<u4', array: Uint32Array},
  int16: {descr: '<i2', array: Int16Array},
  uint16: {descr: '<u2', array: Uint16Array},
  int8: {descr: '|i1', array: Int8Array},
  uint8: {descr: '|u1', array: Uint8Array},
  bool: {descr: '|b1', array: Uint8Array},
};
const DESCR_TO_DTYPE = {};
for (const [dtype, info] of Object.entries(DTYPES)) {
  DESCR_TO_DTYPE[info.descr] = dtype;
  DESCR_TO_DTYPE[info.descr.replace('<', '|')] = dtype;
  DESCR_TO_DTYPE[info.descr.replace('|', '<')] = dtype;
}

function product(shape) {
  return shape.reduce((a, b) => a * b, 1);
}

// A typed array over a copy of `bytes` (typed arrays need aligned offsets).
function typedArray(dtype, bytes, count) {
  const info = DTYPES[dtype];
  if (!info) throw new Error(`unsupported dtype '${dtype}'`);
  const width = info.array.BYTES_PER_ELEMENT;
  if (bytes.length !== count * width)
    throw new Error(`${bytes.length} bytes of data, but ${count} ${dtype} values need ${count * width}`);
  const buffer = new ArrayBuffer(bytes.length);
  new Uint8Array(buffer).set(bytes);
  return new info.array(buffer, 0, count);
}

function makeTensor(dtype, shape, data) {
  if (dtype === 'bool') data = Uint8Array.from(data, (v) => (v ? 1 : 0));
  return new ort.Tensor(dtype, data, shape);
}

function readNpy(file) {
  const buf = fs.readFileSync(file);
  if (buf.length < 10 || buf.toString('latin1', 0, 6) !== '\x93NUMPY')
    throw new Error(`${file}: not a .npy file`);
  const major = buf[6];
  const headerLen = major === 1 ? buf.readUInt16LE(8) : buf.readUInt32LE(8);
  const headerStart = major === 1 ? 10 : 12;
  const header = buf.toString('latin1', headerStart, headerStart + headerLen);
  const descr = /'descr':\s*'([^']+)'/.exec(header);
  const fortran = /'fortran_order':\s*(True|False)/.exec(header);
  const shapeText = /'shape':\s*\(([^)]*)\)/.exec(header);
  if (!descr || !fortran || !shapeText) throw new Error(`${file}: bad .npy header`);
  if (fortran[1] === 'True') throw new Error(`${file}: Fortran-order arrays are not supported`);
  const dtype = DESCR_TO_DTYPE[descr[1]];
  if (!dtype) throw new Error(`${file}: unsupported dtype ${descr[1]}`);
  const shape = shapeText[1].split(',').map((s) => s.trim()).filter((s) => s.length).map(Number);
  const data = buf.subarray(headerStart + headerLen);
  return makeTensor(dtype, shape, typedArray(dtype, data, product(shape)));
}

function writeNpy(file, tensor) {
  const dtype = tensor.type;
  const info = DTYPES[dtype];
  if (!info) throw new Error(`cannot write an output of type ${dtype}`);
  const shape = tensor.dims.length === 1 ? `(${tensor.dims[0]},)` : `(${tensor.dims.join(', ')})`;
  let header = `{'descr': '${info.descr}', 'fortran_order': False, 'shape': ${shape}, }`;
  const total = 10 + header.length + 1;
  header += ' '.repeat((64 - (total % 64)) % 64) + '\n';
  const prefix = Buffer.alloc(10);
  prefix.write('\x93NUMPY', 0, 'latin1');
  prefix[6] = 1;
  prefix[7] = 0;
  prefix.writeUInt16LE(header.length, 8);
  const data = tensor.data;
  const body = Buffer.from(data.buffer, data.byteOffset, data.byteLength);
  fs.writeFileSync(file, Buffer.concat([prefix, Buffer.from(header, 'latin1'), body]));
}

function readInput(spec) {
  const raw = /^(.*\.bin):([a-z0-9]+):([0-9x]*)$/.exec(spec);
  if (raw) {
    const shape = raw[3] === '' ? [] : raw[3].split('x').map(Number);
    return makeTensor(raw[2], shape, typedArray(raw[2], fs.readFileSync(raw[1]), product(shape)));
  }
  if (spec.endsWith('.npy')) return readNpy(spec);
  if (spec.endsWith('.json')) {
    const {dtype, shape, data} = JSON.parse(fs.readFileSync(spec, 'utf8'));
    const info = DTYPES[dtype];
    if (!info) throw new Error(`${spec}: unsupported dtype '${dtype}'`);
    const flat = [].concat(data).flat(Infinity);
    if (flat.length !== product(shape))
      throw new Error(`${spec}: ${flat.length} values for shape [${shape}]`);
    const big = info.array === BigInt64Array || info.array === BigUint64Array;
    return makeTensor(dtype, shape, info.array.from(flat, (v) => (big ? BigInt(v) : v)));
  }
  throw new Error(`${spec}: inputs must be .npy, .json or FILE.bin:DTYPE:SHAPE`);
}

async function runJob(job) {
  const options = {graphOptimizationLevel: job.opt_level || 'disabled'};
  if (job.optimized_model) options.optimizedModelFilePath = job.optimized_model;
  const t0 = process.hrtime.bigint();
  const session = await ort.InferenceSession.create(job.model, options);
  const t1 = process.hrtime.bigint();
  const result = {create_ms: Number(t1 - t0) / 1e6};
  if (job.run === false) return result;

  const feeds = {};
  for (const [name, file] of Object.entries(job.inputs || {})) {
    if (!session.inputNames.includes(name))
      throw new Error(`the model has no input '${name}' (inputs: ${session.inputNames.join(', ')})`);
    feeds[name] = readInput(file);
  }
  const missing = session.inputNames.filter((n) => !(n in feeds));
  if (missing.length) throw new Error(`no value given for input(s) ${missing.join(', ')}`);
  const outputs = await session.run(feeds);
  result.run_ms = Number(process.hrtime.bigint() - t1) / 1e6;

  if (job.out_dir) {
    fs.mkdirSync(job.out_dir, {recursive: true});
    const listing = session.outputNames.map((name, i) => {
      const file = `output_${i}.npy`;
      writeNpy(path.join(job.out_dir, file), outputs[name]);
      return {name, file, dtype: outputs[name].type, shape: outputs[name].dims};
    });
    fs.writeFileSync(path.join(job.out_dir, 'outputs.json'), JSON.stringify(listing, null, 1));
  }
  await session.release();
  return result;
}

function usage() {
  const lines = fs.readFileSync(__filename, 'utf8').split('\n').slice(1);
  const header = lines.slice(0, lines.findIndex((l) => !l.startsWith('//')));
  process.stderr.write(header.map((l) => l.replace(/^\/\/ ?/, '')).join('\n') + '\n');
  process.exit(2);
}

async function serve() {
  const lines = require('readline').createInterface({input: process.stdin, terminal: false});
  let index = 0;
  for await (const text of lines) {
    if (!text.trim()) continue;
    let line;
    try {
      line = {job: index, ok: true, ...(await runJob(JSON.parse(text)))};
    } catch (e) {
      line = {job: index, ok: false, error: String(e && e.message ? e.message : e)};
    }
    ++index;
    process.stdout.write(JSON.stringify(line) + '\n');
  }
  return 0;
}

async function main(argv) {
  if (argv.length === 0 || argv.includes('--help')) usage();
  if (argv.length === 1 && argv[0] === '--serve') return serve();
  let jobs;
  let batch = false;
  if (argv[0] === '--batch') {
    if (argv.length !== 2) usage();
    jobs = JSON.parse(fs.readFileSync(argv[1], 'utf8'));
    batch = true;
  } else {
    const job = {model: null, inputs: {}, run: true};
    for (let i = 0; i < argv.length; ++i) {
      const arg = argv[i];
      const value = () => {
        if (i + 1 >= argv.length) usage();
        return argv[++i];
      };
      if (arg === '--input') {
        const spec = value();
        const eq = spec.indexOf('=');
        if (eq <= 0) usage();
        job.inputs[spec.slice(0, eq)] = spec.slice(eq + 1);
      } else if (arg === '--out-dir') job.out_dir = value();
      else if (arg === '--opt-level') job.opt_level = value();
      else if (arg === '--optimized-model') job.optimized_model = value();
      else if (arg === '--no-run') job.run = false;
      else if (arg.startsWith('--')) usage();
      else if (job.model === null) job.model = arg;
      else usage();
    }
    if (job.model === null) usage();
    jobs = [job];
  }

  let failed = 0;
  for (let i = 0; i < jobs.length; ++i) {
    let line;
    try {
      line = {job: i, ok: true, ...(await runJob(jobs[i]))};
    } catch (e) {
      ++failed;
      line = {job: i, ok: false, error: String(e && e.message ? e.message : e)};
    }
    if (batch || !line.ok) process.stdout.write(JSON.stringify(line) + '\n');
  }
  return failed ? 1 : 0;
}

main(process.argv.slice(2)).then((code) => process.exit(code), (e) => {
  process.stderr.write(`ort_run.js: ${e.stack || e}\n`);
  process.exit(1);
});
