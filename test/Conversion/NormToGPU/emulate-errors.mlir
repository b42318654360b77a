// RUN: norm-opt %s --mlir-print-op-generic -o %t.mlir
// RUN: not %python %norm_opt_src_root/utils/emulate_gpu_kernels.py %t.mlir --rows=2 | FileCheck %s

// The emulator that checks the generated kernels (emulate.mlir) fails on
// broken ones: hand-written kernels with one bug each.

// CHECK: FAIL oob rows=2 error: vector.load out of bounds by thread 16 (indices [0, 64], shape [2, 64])
// CHECK: FAIL not_normalized rows=2 out: rel_err={{.*}} (tol 1e-05) unwritten_or_nan=0
// CHECK: FAIL unwritten rows=2 out: rel_err={{.*}} (tol 1e-05) unwritten_or_nan=64
// CHECK: FAIL divergent_shuffle rows=2 error: gpu.shuffle with a partially active warp (group 0)
// CHECK: FAIL missing_barrier rows=2 error: workgroup slot read by another warp before a barrier
// CHECK: FAIL double_write rows=2 error: vector.store: an element is written twice
// CHECK: FAIL write_after_read rows=2 error: workgroup slot overwritten after another warp read it, with no barrier between
// CHECK: 0 passed, 7 failed

module attributes {gpu.container_module} {
  gpu.module @norm_kernels {
    // No guard: lanes 16..31 read past the 64-element row.
    gpu.func @oob(%x: memref<?x64xf32>, %y: memref<?x64xf32>) kernel attributes {norm.arguments = ["x", "out"], norm.epsilon = 1.0e-5 : f32, norm.kind = "rms_norm", norm.rows_per_block = 1 : i64, norm.threads_per_row = 32 : i64} {
      %lane = gpu.thread_id x
      %row = gpu.block_id x
      %c4 = arith.constant 4 : index
      %col = arith.muli %lane, %c4 : index
      %v = vector.load %x[%row, %col] : memref<?x64xf32>, vector<4xf32>
      vector.store %v, %y[%row, %col] : memref<?x64xf32>, vector<4xf32>
      gpu.return
    }
    // Copies the row: every element written, none normalized.
    gpu.func @not_normalized(%x: memref<?x64xf32>, %y: memref<?x64xf32>) kernel attributes {norm.arguments = ["x", "out"], norm.epsilon = 1.0e-5 : f32, norm.kind = "rms_norm", norm.rows_per_block = 1 : i64, norm.threads_per_row = 32 : i64} {
      %lane = gpu.thread_id x
      %row = gpu.block_id x
      %c4 = arith.constant 4 : index
      %c16 = arith.constant 16 : index
      %in = arith.cmpi ult, %lane, %c16 : index
      scf.if %in {
        %col = arith.muli %lane, %c4 : index
        %v = vector.load %x[%row, %col] : memref<?x64xf32>, vector<4xf32>
        vector.store %v, %y[%row, %col] : memref<?x64xf32>, vector<4xf32>
      }
      gpu.return
    }
    // Writes only the first row: the second stays poisoned.
    gpu.func @unwritten(%x: memref<?x64xf32>, %y: memref<?x64xf32>) kernel attributes {norm.arguments = ["x", "out"], norm.epsilon = 1.0e-5 : f32, norm.kind = "rms_norm", norm.rows_per_block = 1 : i64, norm.threads_per_row = 32 : i64} {
      %lane = gpu.thread_id x
      %row = gpu.block_id x
      %c0 = arith.constant 0 : index
      %c4 = arith.constant 4 : index
      %c16 = arith.constant 16 : index
      %lanes = arith.cmpi ult, %lane, %c16 : index
      %first = arith.cmpi eq, %row, %c0 : index
      %in = arith.andi %lanes, %first : i1
      scf.if %in {
        %col = arith.muli %lane, %c4 : index
        %v = vector.load %x[%row, %col] : memref<?x64xf32>, vector<4xf32>
        vector.store %v, %y[%row, %col] : memref<?x64xf32>, vector<4xf32>
      }
      gpu.return
    }
    // A full-mask shuffle under a condition that splits the warp.
    gpu.func @divergent_shuffle(%x: memref<?x64xf32>, %y: memref<?x64xf32>) kernel attributes {norm.arguments = ["x", "out"], norm.epsilon = 1.0e-5 : f32, norm.kind = "rms_norm", norm.rows_per_block = 1 : i64, norm.threads_per_row = 32 : i64} {
      %lane = gpu.thread_id x
      %c16 = arith.constant 16 : index
      %in = arith.cmpi ult, %lane, %c16 : index
      scf.if %in {
        %v = arith.constant 1.0 : f32
        %o = arith.constant 1 : i32
        %w = arith.constant 32 : i32
        %s, %ok = gpu.shuffle xor %v, %o, %w : f32
      }
      gpu.return
    }
    // Warp leaders publish a value; the other warp reads it with no barrier.
    gpu.func @missing_barrier(%x: memref<?x64xf32>, %y: memref<?x64xf32>) workgroup(%slots : memref<2xf32, #gpu.address_space<workgroup>>) kernel attributes {norm.arguments = ["x", "out"], norm.epsilon = 1.0e-5 : f32, norm.kind = "rms_norm", norm.rows_per_block = 1 : i64, norm.threads_per_row = 64 : i64} {
      %tid = gpu.thread_id x
      %c0 = arith.constant 0 : index
      %c1 = arith.constant 1 : index
      %c32 = arith.constant 32 : index
      %warp = arith.divui %tid, %c32 : index
      %lane = arith.remui %tid, %c32 : index
      %leader = arith.cmpi eq, %lane, %c0 : index
      %v = arith.constant 1.0 : f32
      scf.if %leader {
        memref.store %v, %slots[%warp] : memref<2xf32, #gpu.address_space<workgroup>>
      }
      %other = arith.subi %c1, %warp : index
      %r = memref.load %slots[%other] : memref<2xf32, #gpu.address_space<workgroup>>
      gpu.return
    }
    // Every lane stores the row's first chunk.
    gpu.func @double_write(%x: memref<?x64xf32>, %y: memref<?x64xf32>) kernel attributes {norm.arguments = ["x", "out"], norm.epsilon = 1.0e-5 : f32, norm.kind = "rms_norm", norm.rows_per_block = 1 : i64, norm.threads_per_row = 32 : i64} {
      %row = gpu.block_id x
      %c0 = arith.constant 0 : index
      %v = vector.load %x[%row, %c0] : memref<?x64xf32>, vector<4xf32>
      vector.store %v, %y[%row, %c0] : memref<?x64xf32>, vector<4xf32>
      gpu.return
    }
    // Slot 0 is read by both warps after a barrier, then warp 1 reuses it
    // with no second barrier: warp 0 may not have read it yet.
    gpu.func @write_after_read(%x: memref<?x64xf32>, %y: memref<?x64xf32>) workgroup(%slots : memref<1xf32, #gpu.address_space<workgroup>>) kernel attributes {norm.arguments = ["x", "out"], norm.epsilon = 1.0e-5 : f32, norm.kind = "rms_norm", norm.rows_per_block = 1 : i64, norm.threads_per_row = 64 : i64} {
      %tid = gpu.thread_id x
      %c0 = arith.constant 0 : index
      %c32 = arith.constant 32 : index
      %v = arith.constant 1.0 : f32
      %first = arith.cmpi eq, %tid, %c0 : index
      scf.if %first {
        memref.store %v, %slots[%c0] : memref<1xf32, #gpu.address_space<workgroup>>
      }
      gpu.barrier
      %r = memref.load %slots[%c0] : memref<1xf32, #gpu.address_space<workgroup>>
      %second = arith.cmpi eq, %tid, %c32 : index
      scf.if %second {
        memref.store %r, %slots[%c0] : memref<1xf32, #gpu.address_space<workgroup>>
      }
      gpu.return
    }
  }
}
