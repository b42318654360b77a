// REQUIRES: mlir-opt-plugin
// Upstream's mlir-opt with norm-opt as a plugin: the norm and onnx dialects
// parse, a norm-opt pass runs and rewrites exactly as in norm-opt.
// RUN: %mlir_opt %s --load-dialect-plugin=%norm_opt_plugin --load-pass-plugin=%norm_opt_plugin \
// RUN:   --pass-pipeline='builtin.module(norm-pre-ln-to-rms)' | FileCheck %s
// RUN: %mlir_opt %s --load-dialect-plugin=%norm_opt_plugin --load-pass-plugin=%norm_opt_plugin \
// RUN:   --pass-pipeline='builtin.module(norm-pre-ln-to-rms)' -o %t.plugin.mlir
// RUN: norm-opt %s --norm-pre-ln-to-rms -o %t.norm-opt.mlir
// RUN: diff %t.plugin.mlir %t.norm-opt.mlir
// The dialect plugin alone also registers the passes and the norm-optimize
// pipeline (as upstream's standalone plugin does).
// RUN: %mlir_opt %s --load-dialect-plugin=%norm_opt_plugin \
// RUN:   --pass-pipeline='builtin.module(norm-optimize)' 2>/dev/null | FileCheck %s --check-prefix=PIPELINE
// Without the plugin, mlir-opt knows neither the dialects nor the passes.
// RUN: not %mlir_opt %s 2>&1 | FileCheck %s --check-prefix=NOPLUGIN

// The embedding table, the stream's only writer, is centered and the
// LayerNorm becomes an RMSNorm with the same weights and epsilon.
// CHECK: norm.report = [{action = "converted", kind = "rms_norm"{{.*}}pass = "norm-pre-ln-to-rms"
// CHECK: %[[T:.*]] = onnx.initializer "wte_centered" = dense<{{\[}}[-1.500000e+00, -5.000000e-01, 5.000000e-01, 1.500000e+00], [1.000000e+00, -1.000000e+00, 1.000000e+00, -1.000000e+00], [0.000000e+00, 0.000000e+00, 0.000000e+00, 0.000000e+00]]>
// CHECK: %[[E:.*]] = onnx.Gather(%[[T]], %arg0)
// CHECK: norm.rms_norm %[[E]] scale(%{{.*}} : tensor<4xf32>) bias(%{{.*}} : tensor<4xf32>) {epsilon = 9.99999997E-7 : f32}
// CHECK-NOT: norm.layer_norm

// PIPELINE: pass = "norm-pre-ln-to-rms"
// PIPELINE: pass = "norm-fold-weights"
// PIPELINE: norm.rms_norm

// NOPLUGIN: error: Dialect `onnx' not found for custom op 'onnx.initializer'

func.func @pre_ln(%ids: tensor<2x3xi64>) -> tensor<2x3x4xf32> {
  %table = onnx.initializer "wte" = dense<[[1.0, 2.0, 3.0, 4.0], [2.0, 0.0, 2.0, 0.0], [5.0, 5.0, 5.0, 5.0]]> : tensor<3x4xf32> : tensor<3x4xf32>
  %g = onnx.initializer "g" = dense<[1.5, 0.5, 2.0, 1.0]> : tensor<4xf32> : tensor<4xf32>
  %b = onnx.initializer "b" = dense<[0.1, -0.2, 0.3, -0.4]> : tensor<4xf32> : tensor<4xf32>
  %e = onnx.Gather(%table, %ids) : (tensor<3x4xf32>, tensor<2x3xi64>) -> tensor<2x3x4xf32>
  %out = norm.layer_norm %e scale(%g : tensor<4xf32>) bias(%b : tensor<4xf32>) {epsilon = 1.0e-6 : f32} : tensor<2x3x4xf32> -> tensor<2x3x4xf32>
  return %out : tensor<2x3x4xf32>
}
