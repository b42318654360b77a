// RUN: norm-opt %s -split-input-file --convert-norm-to-gpu | FileCheck %s
// RUN: norm-opt %s -split-input-file --convert-norm-to-gpu="deferred-scale=factors" | FileCheck %s --check-prefix=FACTORS

// A narrow bf16 RMSNorm: one warp per row, 4 rows per block, 8-wide (128-bit)
// loads, fp32 statistics reduced across the warp. The [?, 128, 768] input is
// flattened to rows by the caller: the kernel sees [?, 768].

// CHECK: module attributes {gpu.container_module
// CHECK: norm.rms_norm {{.*}}norm.gpu_kernel = @norm_kernels::@rms_norm_bf16_h768
// CHECK-LABEL: gpu.module @norm_kernels
// CHECK: gpu.func @rms_norm_bf16_h768(%[[X:.*]]: memref<?x768xbf16>, %[[G:.*]]: memref<768xbf16>, %[[Y:.*]]: memref<?x768xbf16>) kernel
// CHECK-SAME: known_block_size = array<i32: 128, 1, 1>
// CHECK-SAME: norm.arguments = ["x", "scale", "out"]
// CHECK-SAME: norm.elements_per_thread = 24
// CHECK-SAME: norm.rows_per_block = 4
// CHECK-SAME: norm.threads_per_row = 32
// CHECK-SAME: norm.vector_width = 8
// CHECK-NOT: workgroup
// CHECK: %[[ROWS:.*]] = memref.dim %[[X]]
// CHECK: scf.if
// CHECK-COUNT-3: vector.load %[[X]][%{{.*}}, %{{.*}}] {alignment = 16 : i64} : memref<?x768xbf16>, vector<8xbf16>
// CHECK: arith.extf %{{.*}} : vector<8xbf16> to vector<8xf32>
// CHECK: %[[SS:.*]] = gpu.subgroup_reduce add %{{.*}} uniform : (f32) -> f32
// CHECK-NOT: gpu.subgroup_reduce
// CHECK-NOT: gpu.barrier
// CHECK: %[[MS:.*]] = arith.mulf %[[SS]]
// CHECK: %[[E:.*]] = arith.addf %[[MS]], %{{.*}} : f32
// CHECK: math.rsqrt %[[E]] : f32
// CHECK: arith.truncf %{{.*}} : vector<8xf32> to vector<8xbf16>
// CHECK: vector.store %{{.*}}, %[[Y]][%{{.*}}, %{{.*}}] {alignment = 16 : i64}
// CHECK: func.func @rms_norm_bf16_h768_launch(%[[LX:.*]]: memref<?x768xbf16>, %{{.*}}: memref<768xbf16>, %{{.*}}: memref<?x768xbf16>)
// CHECK: %[[LROWS:.*]] = memref.dim %[[LX]]
// CHECK: %[[GRID:.*]] = arith.ceildivui %[[LROWS]], %{{.*}}
// CHECK: gpu.launch_func @norm_kernels::@rms_norm_bf16_h768 blocks in (%[[GRID]], %{{.*}}, %{{.*}}) threads in (%{{.*}}, %{{.*}}, %{{.*}}) args(
func.func @rms_bf16(%x: tensor<?x128x768xbf16>, %g: tensor<768xbf16>) -> tensor<?x128x768xbf16> {
  %y = norm.rms_norm %x scale(%g : tensor<768xbf16>) {epsilon = 1.0e-6 : f32} : tensor<?x128x768xbf16> -> tensor<?x128x768xbf16>
  return %y : tensor<?x128x768xbf16>
}

// -----

// A wide fp32 LayerNorm: one block of 256 threads per row, 16 elements per
// thread; the mean, then the variance of the centered registers, each a warp
// reduction plus one workgroup slot per warp (8 warps, 2 reductions).

// CHECK-LABEL: gpu.func @layer_norm_f32_h4096(
// CHECK-SAME: %[[X:[^:]*]]: memref<?x4096xf32>, %[[G:[^:]*]]: memref<4096xf32>, %[[B:[^:]*]]: memref<4096xf32>, %[[Y:[^:]*]]: memref<?x4096xf32>)
// CHECK-SAME: workgroup(%[[SLOTS:.*]] : memref<16xf32, #gpu.address_space<workgroup>>)
// CHECK-SAME: known_block_size = array<i32: 256, 1, 1>
// CHECK-SAME: norm.elements_per_thread = 16
// CHECK-SAME: norm.rows_per_block = 1
// CHECK-SAME: norm.threads_per_row = 256
// CHECK-SAME: norm.vector_width = 4
// CHECK: %[[ROW:.*]] = gpu.block_id x
// CHECK-COUNT-4: vector.load %[[X]][%[[ROW]], %{{.*}}] {alignment = 16 : i64} : memref<?x4096xf32>, vector<4xf32>
// CHECK: %[[W1:.*]] = gpu.subgroup_reduce add %{{.*}} uniform
// CHECK: memref.store %[[W1]], %[[SLOTS]]
// CHECK: gpu.barrier
// CHECK: memref.load %[[SLOTS]]
// CHECK: %[[SUM:.*]] = gpu.subgroup_reduce add
// CHECK: %[[MEAN:.*]] = arith.mulf %[[SUM]]
// CHECK: %[[MEANV:.*]] = vector.broadcast %[[MEAN]] : f32 to vector<4xf32>
// CHECK: %[[D0:.*]] = arith.subf %{{.*}}, %[[MEANV]] : vector<4xf32>
// CHECK: arith.mulf %[[D0]], %[[D0]]
// CHECK: gpu.subgroup_reduce add
// CHECK: gpu.barrier
// CHECK: gpu.subgroup_reduce add
// CHECK: math.rsqrt
// CHECK: arith.mulf %[[D0]]
// CHECK: vector.store %{{.*}}, %[[Y]][%[[ROW]], %{{.*}}] {alignment = 16 : i64}
// CHECK: func.func @layer_norm_f32_h4096_launch
// CHECK: gpu.launch_func @norm_kernels::@layer_norm_f32_h4096
func.func @ln_f32(%x: tensor<8x4096xf32>, %g: tensor<4096xf32>, %b: tensor<4096xf32>) -> tensor<8x4096xf32> {
  %y = norm.layer_norm %x scale(%g : tensor<4096xf32>) bias(%b : tensor<4096xf32>) : tensor<8x4096xf32> -> tensor<8x4096xf32>
  return %y : tensor<8x4096xf32>
}

// -----

// Fused residual add + RMSNorm in fp16: the sum (input + skip + skip_bias) is
// rounded to f16, written out, and normalized from the rounded value.

// CHECK-LABEL: gpu.func @skip_rms_norm_f16_h1024(
// CHECK-SAME: %[[X:[^:]*]]: memref<?x1024xf16>, %[[S:[^:]*]]: memref<?x1024xf16>, %[[G:[^:]*]]: memref<1024xf16>, %[[SB:[^:]*]]: memref<1024xf16>, %[[Y:[^:]*]]: memref<?x1024xf16>, %[[SUM:[^:]*]]: memref<?x1024xf16>)
// CHECK-SAME: norm.arguments = ["x", "skip", "scale", "skip_bias", "out", "sum"]
// CHECK-SAME: norm.elements_per_thread = 32
// CHECK-SAME: norm.threads_per_row = 32
// CHECK-SAME: norm.vector_width = 8
// CHECK: %[[XV:.*]] = vector.load %[[X]]{{.*}} vector<8xf16>
// CHECK: %[[SV:.*]] = vector.load %[[S]]{{.*}} vector<8xf16>
// CHECK: %[[SBV:.*]] = vector.load %[[SB]]{{.*}} vector<8xf16>
// CHECK: %[[XF:.*]] = arith.extf %[[XV]]
// CHECK: %[[SF:.*]] = arith.extf %[[SV]]
// CHECK: %[[A:.*]] = arith.addf %[[XF]], %[[SF]] : vector<8xf32>
// CHECK: %[[SBF:.*]] = arith.extf %[[SBV]]
// CHECK: %[[A2:.*]] = arith.addf %[[A]], %[[SBF]] : vector<8xf32>
// CHECK: %[[R:.*]] = arith.truncf %[[A2]] : vector<8xf32> to vector<8xf16>
// CHECK: vector.store %[[R]], %[[SUM]]
// CHECK: arith.extf %[[R]]
// CHECK: gpu.subgroup_reduce add
// CHECK: vector.store %{{.*}}, %[[Y]]
func.func @skip_rms_f16(%x: tensor<4x1024xf16>, %s: tensor<4x1024xf16>, %g: tensor<1024xf16>, %sb: tensor<1024xf16>) -> (tensor<4x1024xf16>, tensor<4x1024xf16>) {
  %y, %sum = norm.skip_rms_norm %x, %s scale(%g : tensor<1024xf16>) skip_bias(%sb : tensor<1024xf16>) : tensor<4x1024xf16>, tensor<4x1024xf16> -> tensor<4x1024xf16>, tensor<4x1024xf16>
  return %y, %sum : tensor<4x1024xf16>, tensor<4x1024xf16>
}

// -----

// Fused residual add + LayerNorm on a wide bf16 row: one block of 512
// threads, two 8-wide chunks per thread.

// CHECK-LABEL: gpu.func @skip_layer_norm_bf16_h8192(
// CHECK-SAME: norm.arguments = ["x", "skip", "scale", "bias", "out", "sum"]
// CHECK-SAME: norm.elements_per_thread = 16
// CHECK-SAME: norm.rows_per_block = 1
// CHECK-SAME: norm.threads_per_row = 512
// CHECK-SAME: norm.vector_width = 8
// CHECK: gpu.barrier
// CHECK: gpu.barrier
// CHECK: gpu.launch_func @norm_kernels::@skip_layer_norm_bf16_h8192
func.func @skip_ln_bf16(%x: tensor<?x8192xbf16>, %s: tensor<?x8192xbf16>, %g: tensor<8192xbf16>, %b: tensor<8192xbf16>) -> (tensor<?x8192xbf16>, tensor<?x8192xbf16>) {
  %y, %sum = norm.skip_layer_norm %x, %s scale(%g : tensor<8192xbf16>) bias(%b : tensor<8192xbf16>) : tensor<?x8192xbf16>, tensor<?x8192xbf16> -> tensor<?x8192xbf16>, tensor<?x8192xbf16>
  return %y, %sum : tensor<?x8192xbf16>, tensor<?x8192xbf16>
}

// -----

// Gemma gain (1 + w) with fp32 weights on bf16 activations: the weights are
// loaded as 8 x f32 (two 128-bit loads) and offset by one.

// CHECK-LABEL: gpu.func @rms_norm_bf16_h2048(
// CHECK-SAME: %{{[^:]*}}: memref<?x2048xbf16>, %[[G:[^:]*]]: memref<2048xf32>
// CHECK-SAME: norm.threads_per_row = 128
// CHECK-SAME: norm.unit_offset
// CHECK: %[[GV:.*]] = vector.load %[[G]][%{{.*}}] {alignment = 16 : i64} : memref<2048xf32>, vector<8xf32>
// CHECK: %[[ONE:.*]] = arith.constant dense<1.000000e+00> : vector<8xf32>
// CHECK: %[[GAIN:.*]] = arith.addf %[[GV]], %[[ONE]]
// CHECK: arith.mulf %{{.*}}, %[[GAIN]]
func.func @gemma(%x: tensor<2x2048xbf16>, %g: tensor<2048xf32>) -> tensor<2x2048xbf16> {
  %y = norm.rms_norm %x scale(%g : tensor<2048xf32>) {unit_offset} : tensor<2x2048xbf16> -> tensor<2x2048xbf16>
  return %y : tensor<2x2048xbf16>
}

// -----

// A row that does not fill the warp (64 f32 = 16 chunks for 32 lanes) and a
// row whose size is not a multiple of 8 halves (100 f16: 4-wide chunks): the
// loads of lanes past the end are guarded and read as 0; LayerNorm keeps
// them out of the variance.

// CHECK-LABEL: gpu.func @layer_norm_f32_h64(
// CHECK-SAME: norm.elements_per_thread = 4
// CHECK-SAME: norm.vector_width = 4
// CHECK: %[[C16:.*]] = arith.constant 16 : index
// CHECK: %[[VALID:.*]] = arith.cmpi ult, %{{.*}}, %[[C16]] : index
// CHECK: scf.if %[[VALID]] -> (vector<4xf32>)
// CHECK: arith.select %[[VALID]], %{{.*}}, %{{.*}} : vector<4xf32>
// CHECK: scf.if %[[VALID]] {
// CHECK-NEXT: vector.store
// CHECK-LABEL: gpu.func @rms_norm_f16_h100(
// CHECK-SAME: norm.elements_per_thread = 4
// CHECK-SAME: norm.vector_width = 4
// CHECK: vector.load %{{.*}} {alignment = 8 : i64} : memref<?x100xf16>, vector<4xf16>
func.func @small(%x: tensor<3x64xf32>, %h: tensor<3x100xf16>) -> (tensor<3x64xf32>, tensor<3x100xf16>) {
  %y = norm.layer_norm %x : tensor<3x64xf32> -> tensor<3x64xf32>
  %z = norm.rms_norm %h : tensor<3x100xf16> -> tensor<3x100xf16>
  return %y, %z : tensor<3x64xf32>, tensor<3x100xf16>
}

// -----

// Norms with the same kind, types, size and epsilon share a kernel; a
// different epsilon gets its own.

// CHECK: norm.report = [{action = "lowered", kind = "rms_norm", name = "a", pass = "convert-norm-to-gpu", reason = "GPU kernel rms_norm_f32_h512"}
// CHECK: norm.rms_norm {{.*}}norm.gpu_kernel = @norm_kernels::@rms_norm_f32_h512}
// CHECK: norm.rms_norm {{.*}}norm.gpu_kernel = @norm_kernels::@rms_norm_f32_h512}
// CHECK: norm.rms_norm {{.*}}norm.gpu_kernel = @norm_kernels::@rms_norm_f32_h512_1}
// CHECK-COUNT-2: gpu.func @
// CHECK-NOT: gpu.func @
func.func @shared(%x: tensor<2x512xf32>) -> (tensor<2x512xf32>, tensor<2x512xf32>, tensor<2x512xf32>) {
  %a = norm.rms_norm %x : tensor<2x512xf32> -> tensor<2x512xf32> loc("a")
  %b = norm.rms_norm %a : tensor<2x512xf32> -> tensor<2x512xf32> loc("b")
  %c = norm.rms_norm %b {epsilon = 1.0e-3 : f32} : tensor<2x512xf32> -> tensor<2x512xf32> loc("c")
  return %a, %b, %c : tensor<2x512xf32>, tensor<2x512xf32>, tensor<2x512xf32>
}

// -----

// LayerNorm over the two trailing dims (axis 1 of [4, 8, 64]) with a scale
// of the normalized shape: rows of 512, the scale flattened to 512.

// CHECK-LABEL: gpu.func @layer_norm_f32_h512(
// CHECK-SAME: %{{[^:]*}}: memref<?x512xf32>, %{{[^:]*}}: memref<512xf32>, %{{[^:]*}}: memref<?x512xf32>)
// CHECK-SAME: norm.arguments = ["x", "scale", "out"]
// CHECK-SAME: norm.hidden = 512
func.func @two_dims(%x: tensor<4x8x64xf32>, %g: tensor<8x64xf32>) -> tensor<4x8x64xf32> {
  %y = norm.layer_norm %x scale(%g : tensor<8x64xf32>) {axis = 1 : i64} : tensor<4x8x64xf32> -> tensor<4x8x64xf32>
  return %y : tensor<4x8x64xf32>
}

// -----

// FlashNorm's deferred scale: the 1/RMS of each 4096-wide input row scales
// the matching 11008-wide row of a matmul product. The wider row picks the
// launch shape (a block of 1024 threads per row); each thread squares one
// input chunk and scales two value chunks, both loaded before the single
// reduction, which needs one workgroup slot per warp.

// CHECK: norm.rms_scale {{.*}}norm.gpu_kernel = @norm_kernels::@rms_scale_bf16_h4096_n11008
// CHECK: gpu.func @rms_scale_bf16_h4096_n11008(%[[V:.*]]: memref<?x11008xbf16>, %[[X:.*]]: memref<?x4096xbf16>, %[[Y:.*]]: memref<?x11008xbf16>) workgroup(%[[SLOTS:.*]] : memref<32xf32, #gpu.address_space<workgroup>>) kernel
// CHECK-SAME: known_block_size = array<i32: 1024, 1, 1>
// CHECK-SAME: norm.arguments = ["value", "input", "out"]
// CHECK-SAME: norm.elements_per_thread = 24
// CHECK-SAME: norm.hidden = 4096
// CHECK-SAME: norm.kind = "rms_scale"
// CHECK-SAME: norm.threads_per_row = 1024
// CHECK-SAME: norm.value_hidden = 11008
// CHECK-SAME: norm.vector_width = 8
// CHECK: vector.load %[[X]]{{.*}} : memref<?x4096xbf16>, vector<8xbf16>
// CHECK-COUNT-2: vector.load %[[V]]{{.*}} : memref<?x11008xbf16>, vector<8xbf16>
// CHECK: gpu.subgroup_reduce add
// CHECK: gpu.barrier
// CHECK: gpu.subgroup_reduce add
// CHECK-NOT: gpu.barrier
// CHECK: math.rsqrt
// CHECK-COUNT-2: vector.store %{{.*}}, %[[Y]]
// CHECK-NOT: vector.store
// CHECK: gpu.return
// CHECK: func.func @rms_scale_bf16_h4096_n11008_launch
// With deferred-scale=factors the kernel reads only the input row and
// writes its fp32 factor (one store, by the row's first thread), for a
// matmul epilogue to apply.
// FACTORS: norm.rms_scale {{.*}}norm.gpu_kernel = @norm_kernels::@rms_scale_factors_bf16_h4096
// FACTORS: gpu.func @rms_scale_factors_bf16_h4096(%[[X:.*]]: memref<?x4096xbf16>, %[[F:.*]]: memref<?x1xf32>) workgroup(%{{.*}} : memref<8xf32, #gpu.address_space<workgroup>>) kernel
// FACTORS-SAME: known_block_size = array<i32: 256, 1, 1>
// FACTORS-SAME: norm.arguments = ["input", "out"]
// FACTORS-SAME: norm.kind = "rms_scale_factors"
// FACTORS-NOT: norm.value_hidden
// FACTORS-COUNT-2: vector.load %[[X]]
// FACTORS: %[[R:.*]] = math.rsqrt
// FACTORS: memref.store %[[R]], %[[F]][%{{.*}}, %{{.*}}] : memref<?x1xf32>
// FACTORS-NOT: vector.store
// FACTORS: gpu.return
func.func @deferred_scale_wide(%xw: tensor<?x11008xbf16>, %x: tensor<?x4096xbf16>) -> tensor<?x11008xbf16> {
  %y = norm.rms_scale %xw by %x {epsilon = 1.0e-6 : f32} : tensor<?x11008xbf16>, tensor<?x4096xbf16> -> tensor<?x11008xbf16>
  return %y : tensor<?x11008xbf16>
}

// -----

// A narrow one: a warp per row. 100 input and 200 value columns leave f32
// chunks of 4; every lane has one chunk of each, the last ones masked.

// CHECK: gpu.func @rms_scale_f32_h100_n200(
// CHECK-SAME: known_block_size = array<i32: 128, 1, 1>
// CHECK-SAME: norm.threads_per_row = 32
// CHECK-SAME: norm.vector_width = 4
// CHECK-NOT: workgroup
// CHECK: memref.dim
// CHECK: arith.cmpi ult, %{{.*}}, %c25
// CHECK: arith.cmpi ult, %{{.*}}, %c50
// CHECK: gpu.subgroup_reduce add
// CHECK-NOT: gpu.barrier
// CHECK: gpu.return
func.func @deferred_scale_narrow(%xw: tensor<2x?x200xf32>, %x: tensor<2x?x100xf32>) -> tensor<2x?x200xf32> {
  %y = norm.rms_scale %xw by %x : tensor<2x?x200xf32>, tensor<2x?x100xf32> -> tensor<2x?x200xf32>
  return %y : tensor<2x?x200xf32>
}

// -----

// CRMSNorm: 767 stored entries of a zero-mean row of 768. The input and
// output rows share no factor of two, so the loads are scalar; two warp
// reductions (sum of squares, sum); the row's first lane writes entry 767
// from the dropped one, -sum(x), with the last weights.

// CHECK: norm.crms_norm {{.*}}norm.gpu_kernel = @norm_kernels::@crms_norm_bf16_h767
// CHECK: gpu.func @crms_norm_bf16_h767(%[[X:.*]]: memref<?x767xbf16>, %[[G:.*]]: memref<768xbf16>, %[[B:.*]]: memref<768xbf16>, %[[Y:.*]]: memref<?x768xbf16>) kernel
// CHECK-SAME: norm.kind = "crms_norm"
// CHECK-SAME: norm.threads_per_row = 32
// CHECK-SAME: norm.vector_width = 1
// CHECK: vector.load %[[X]]{{.*}} : memref<?x767xbf16>, vector<1xbf16>
// CHECK: gpu.subgroup_reduce add
// CHECK: %[[SUM:.*]] = gpu.subgroup_reduce add
// CHECK-NOT: gpu.subgroup_reduce
// CHECK: %[[DROPPED:.*]] = arith.negf %[[SUM]] : f32
// CHECK: %[[LANE0:.*]] = arith.cmpi eq
// CHECK: scf.if %[[LANE0]] {
// CHECK: arith.mulf %[[DROPPED]]
// CHECK: vector.load %[[G]][%[[LAST:.*]]] {{.*}} : memref<768xbf16>, vector<1xbf16>
// CHECK: vector.load %[[B]][%[[LAST]]]
// CHECK: vector.store %{{.*}}, %[[Y]][%{{.*}}, %[[LAST]]]
func.func @crms(%x: tensor<?x767xbf16>, %g: tensor<768xbf16>, %b: tensor<768xbf16>) -> tensor<?x768xbf16> {
  %y = norm.crms_norm %x scale(%g : tensor<768xbf16>) bias(%b : tensor<768xbf16>) : tensor<?x767xbf16> -> tensor<?x768xbf16>
  return %y : tensor<?x768xbf16>
}
