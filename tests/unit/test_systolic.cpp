// Systolic closed forms (models/mac/systolic.h): fold counts and cycles worked by hand for every
// dataflow, single- and multi-fold, square and rectangular arrays; the scalesim_compat offset;
// mapping efficiency; utilisation bounds; input validation.
#include <catch2/catch.hpp>
#include <cstdint>
#include <random>
#include <string>

#include "models/core/error.h"
#include "models/mac/systolic.h"

using namespace lbsim;

TEST_CASE("dataflow names parse and print", "[systolic]") {
  CHECK(parse_dataflow("os") == Dataflow::kOs);
  CHECK(parse_dataflow("ws") == Dataflow::kWs);
  CHECK(parse_dataflow("is") == Dataflow::kIs);
  for (Dataflow d : {Dataflow::kOs, Dataflow::kWs, Dataflow::kIs})
    CHECK(parse_dataflow(dataflow_name(d)) == d);
  CHECK_THROWS_WITH(parse_dataflow("wss"),
                    "unknown dataflow 'wss'; allowed: os, ws, is (did you mean 'ws'?)");
  CHECK_THROWS_AS(parse_dataflow("OS"), UserError);
  CHECK_THROWS_AS(parse_dataflow(""), UserError);
}

TEST_CASE("os multi-fold GEMM on a 32x32 array", "[systolic]") {
  // m=100 -> S_R=100 -> ceil(100/32)=4 row folds; n=70 -> S_C=70 -> 3 column folds; F=12.
  // T=k=50; per fold 50+32+32-2=112; total 12*112=1344.
  FoldPlan p = plan_folds(Dataflow::kOs, 32, 32, 100, 70, 50);
  CHECK(p.s_r == 100);
  CHECK(p.s_c == 70);
  CHECK(p.t == 50);
  CHECK(p.folds_r == 4);
  CHECK(p.folds_c == 3);
  CHECK(p.folds == 12);
  CHECK(p.cycles_per_fold == 112);
  CHECK(p.compute_cycles == 1344);
  CHECK(p.macs == 350000);
  // 100*70 / (12*32*32) = 7000/12288
  CHECK(p.mapping_efficiency == Approx(7000.0 / 12288.0).epsilon(1e-15));
  // 350000 / (1344*1024)
  CHECK(utilisation(p) == Approx(350000.0 / 1376256.0).epsilon(1e-15));
}

TEST_CASE("ws multi-fold GEMM on a 32x32 array", "[systolic]") {
  // ws: rows K=50 -> 2 folds, columns N=70 -> 3 folds, F=6, T=M=100.
  // Per fold 100 + 2*32 + 32 - 2 = 194; total 6*194 = 1164.
  FoldPlan p = plan_folds(Dataflow::kWs, 32, 32, 100, 70, 50);
  CHECK(p.s_r == 50);
  CHECK(p.s_c == 70);
  CHECK(p.t == 100);
  CHECK(p.folds_r == 2);
  CHECK(p.folds_c == 3);
  CHECK(p.folds == 6);
  CHECK(p.cycles_per_fold == 194);
  CHECK(p.compute_cycles == 1164);
  CHECK(p.mapping_efficiency == Approx(3500.0 / 6144.0).epsilon(1e-15));
}

TEST_CASE("is multi-fold GEMM on a 32x32 array", "[systolic]") {
  // is: rows K=50 -> 2 folds, columns M=100 -> 4 folds, F=8, T=N=70.
  // Per fold 70 + 64 + 32 - 2 = 164; total 8*164 = 1312.
  FoldPlan p = plan_folds(Dataflow::kIs, 32, 32, 100, 70, 50);
  CHECK(p.s_r == 50);
  CHECK(p.s_c == 100);
  CHECK(p.t == 70);
  CHECK(p.folds == 8);
  CHECK(p.cycles_per_fold == 164);
  CHECK(p.compute_cycles == 1312);
  CHECK(p.mapping_efficiency == Approx(5000.0 / 8192.0).epsilon(1e-15));
}

TEST_CASE("single-fold GEMMs fill the array exactly", "[systolic]") {
  // 8x8 array. os m=8 n=8 k=5: one fold of 5+8+8-2 = 19 cycles.
  FoldPlan os = plan_folds(Dataflow::kOs, 8, 8, 8, 8, 5);
  CHECK(os.folds == 1);
  CHECK(os.compute_cycles == 19);
  CHECK(os.mapping_efficiency == 1.0);
  CHECK(utilisation(os) == Approx(320.0 / (19.0 * 64.0)).epsilon(1e-15));
  // ws m=5 n=8 k=8: 5 + 16 + 8 - 2 = 27.
  FoldPlan ws = plan_folds(Dataflow::kWs, 8, 8, 5, 8, 8);
  CHECK(ws.folds == 1);
  CHECK(ws.compute_cycles == 27);
  // is m=8 n=5 k=8: 5 + 16 + 8 - 2 = 27.
  FoldPlan is = plan_folds(Dataflow::kIs, 8, 8, 8, 5, 8);
  CHECK(is.folds == 1);
  CHECK(is.compute_cycles == 27);
  // A partly filled single fold costs the full fold: ws m=5 n=3 k=2 on 8x8 -> 27 again.
  FoldPlan part = plan_folds(Dataflow::kWs, 8, 8, 5, 3, 2);
  CHECK(part.compute_cycles == 27);
  CHECK(part.mapping_efficiency == Approx(6.0 / 64.0).epsilon(1e-15));
}

TEST_CASE("rectangular arrays use R for rows and C for columns", "[systolic]") {
  // 4 rows x 16 cols, ws m=10 n=20 k=6: rows K=6 -> 2 folds; cols N=20 -> 2 folds; F=4.
  // Per fold 10 + 2*4 + 16 - 2 = 32; total 128.
  FoldPlan ws = plan_folds(Dataflow::kWs, 4, 16, 10, 20, 6);
  CHECK(ws.folds_r == 2);
  CHECK(ws.folds_c == 2);
  CHECK(ws.cycles_per_fold == 32);
  CHECK(ws.compute_cycles == 128);
  // Transposed array (16 x 4): rows K=6 -> 1 fold; cols N=20 -> 5 folds; F=5.
  // Per fold 10 + 32 + 4 - 2 = 44; total 220.
  FoldPlan wt = plan_folds(Dataflow::kWs, 16, 4, 10, 20, 6);
  CHECK(wt.folds == 5);
  CHECK(wt.cycles_per_fold == 44);
  CHECK(wt.compute_cycles == 220);
  // os on 4 x 16, m=10 n=20 k=6: rows M=10 -> 3, cols N=20 -> 2, F=6; per fold 6+4+16-2 = 24.
  FoldPlan os = plan_folds(Dataflow::kOs, 4, 16, 10, 20, 6);
  CHECK(os.folds == 6);
  CHECK(os.cycles_per_fold == 24);
  CHECK(os.compute_cycles == 144);
}

TEST_CASE("fold overhead splits into lead and tail", "[systolic]") {
  FoldOverhead os = fold_overhead(Dataflow::kOs, 32, 16);
  CHECK(os.lead == 31);  // R - 1
  CHECK(os.tail == 15);  // C - 1
  FoldOverhead ws = fold_overhead(Dataflow::kWs, 32, 16);
  CHECK(ws.lead == 63);  // R + R - 1
  CHECK(ws.tail == 15);
  CHECK(fold_overhead(Dataflow::kIs, 32, 16).total() == 78);
  // cycles_per_fold = T + overhead for every dataflow.
  for (Dataflow d : {Dataflow::kOs, Dataflow::kWs, Dataflow::kIs}) {
    FoldPlan p = plan_folds(d, 32, 16, 40, 50, 60);
    CHECK(p.cycles_per_fold == p.t + fold_overhead(d, 32, 16).total());
  }
}

TEST_CASE("scalesim_compat is one cycle less per GEMM", "[systolic]") {
  // SCALE-Sim reports the 0-based index of the last demand row: F * cycles_per_fold - 1.
  FoldPlan os = plan_folds(Dataflow::kOs, 32, 32, 100, 70, 50, true);
  CHECK(os.scalesim_compat);
  CHECK(os.cycles_per_fold == 112);  // the closed form itself is unchanged
  CHECK(os.compute_cycles == 1343);
  CHECK(plan_folds(Dataflow::kWs, 32, 32, 100, 70, 50, true).compute_cycles == 1163);
  CHECK(plan_folds(Dataflow::kIs, 32, 32, 100, 70, 50, true).compute_cycles == 1311);
  CHECK(plan_folds(Dataflow::kWs, 8, 8, 5, 8, 8, true).compute_cycles == 26);
}

TEST_CASE("a 1x1 os array reaches utilisation 1", "[systolic]") {
  // R = C = 1, os: F = m*n folds of T + 0 cycles: cycles = m*n*k = MACs.
  FoldPlan p = plan_folds(Dataflow::kOs, 1, 1, 3, 4, 5);
  CHECK(p.folds == 12);
  CHECK(p.compute_cycles == 60);
  CHECK(utilisation(p) == 1.0);
  // ws on 1x1 still pays 2R + C - 2 = 1 extra cycle per fold (the preload).
  FoldPlan w = plan_folds(Dataflow::kWs, 1, 1, 3, 4, 5);
  CHECK(w.cycles_per_fold == 4);  // T=m=3, 3 + 2 + 1 - 2
  CHECK(w.compute_cycles == 80);  // F = k*n = 20
}

TEST_CASE("utilisation and mapping efficiency stay in (0, 1] for random GEMMs", "[systolic]") {
  std::mt19937_64 rng(12345);
  auto pick = [&](int64_t lo, int64_t hi) {
    return std::uniform_int_distribution<int64_t>(lo, hi)(rng);
  };
  for (int i = 0; i < 2000; ++i) {
    Dataflow d = static_cast<Dataflow>(pick(0, 2));
    int64_t r = pick(1, 64), c = pick(1, 64);
    int64_t m = pick(1, 500), n = pick(1, 500), k = pick(1, 500);
    FoldPlan p = plan_folds(d, r, c, m, n, k);
    INFO(dataflow_name(d) << " " << r << "x" << c << " m=" << m << " n=" << n << " k=" << k);
    CHECK(p.folds == p.folds_r * p.folds_c);
    CHECK(p.folds_r * r >= p.s_r);
    CHECK((p.folds_r - 1) * r < p.s_r);
    CHECK(p.compute_cycles == p.folds * p.cycles_per_fold);
    CHECK(p.macs == m * n * k);
    double u = utilisation(p);
    CHECK(u > 0);
    CHECK(u <= 1.0);
    CHECK(p.mapping_efficiency > 0);
    CHECK(p.mapping_efficiency <= 1.0);
    // Utilisation can never exceed mapping efficiency: the closed form charges at least T per
    // fold.
    CHECK(u <= p.mapping_efficiency * (1 + 1e-12));
  }
}

TEST_CASE("invalid dimensions and overflow are user errors", "[systolic]") {
  CHECK_THROWS_WITH(plan_folds(Dataflow::kOs, 32, 32, 0, 1, 1),
                    "systolic: GEMM m must be >= 1, got 0");
  CHECK_THROWS_AS(plan_folds(Dataflow::kOs, 0, 32, 1, 1, 1), UserError);
  CHECK_THROWS_AS(plan_folds(Dataflow::kOs, 32, -1, 1, 1, 1), UserError);
  CHECK_THROWS_AS(plan_folds(Dataflow::kWs, 32, 32, 1, -5, 1), UserError);
  const int64_t big = int64_t(1) << 40;
  // m*n*k = 2^120 overflows.
  CHECK_THROWS_AS(plan_folds(Dataflow::kOs, 32, 32, big, big, big), UserError);
  // The fold count 2^40 * 2^35 overflows on a 1x1 array.
  CHECK_THROWS_AS(plan_folds(Dataflow::kOs, 1, 1, big, int64_t(1) << 35, 1), UserError);
  // Large but representable: 2^20 x 2^20 x 2^20 on a 1024 x 1024 array.
  const int64_t mid = int64_t(1) << 20;
  FoldPlan p = plan_folds(Dataflow::kOs, 1024, 1024, mid, mid, mid);
  CHECK(p.folds == 1024 * 1024);
  CHECK(p.compute_cycles == (int64_t(1) << 20) * (mid + 2046));
}
