#include "models/sim_plan/sim_plan.h"

#include <fmt/format.h>

#include <algorithm>
#include <charconv>
#include <cmath>
#include <mutex>
#include <sstream>
#include <stdexcept>

#include "models/core/csv.h"
#include "models/core/error.h"
#include "models/mac/i_mac_family.h"

namespace lbsim {

namespace {

__extension__ typedef __int128 I128;

int64_t ceil_div(int64_t a, int64_t b) { return a / b + (a % b != 0 ? 1 : 0); }

int64_t checked_mul(int64_t a, int64_t b, const char* what) {
  int64_t r;
  if (__builtin_mul_overflow(a, b, &r))
    throw UserError(fmt::format("sim plan: {}: {} x {} overflows int64", what, a, b));
  return r;
}

// Bytes of a tensor in DRAM: the tiling model's rule (tensor_bytes, tiling.h).
int64_t bytes_of(int64_t elements, double bits) {
  return tensor_bytes(elements, bits, "vector op tensor");
}

Role phase_role(Phase p) { return p == Phase::kFwd ? Role::kActivation : Role::kError; }

std::string op_label(const LayerSpec& layer, const Op& op) {
  return fmt::format("layer {} {} {}", layer.name, phase_name(op.phase), op.name);
}

// Prefixes every line of a (possibly multi-line) message.
std::string prefixed(const std::string& prefix, const std::string& text) {
  std::string out = prefix;
  for (size_t i = 0; i < text.size(); ++i) {
    out += text[i];
    if (text[i] == '\n' && i + 1 < text.size()) out += prefix;
  }
  return out;
}

}  // namespace

int64_t scale_floor(int64_t x, int64_t num, int64_t den) {
  if (den <= 0) throw std::logic_error("scale_floor: denominator must be positive");
  return static_cast<int64_t>(static_cast<I128>(x) * num / den);
}

int64_t quant_ops_per_element(const FormatInfo& info, bool stochastic) {
  return mac_family_of(info).quant_ops_per_element(info, stochastic);
}

FormatCost fp32_cost() {
  FormatCost c;
  c.name = "fp32";
  c.code_bits = 32;
  return c;
}

FormatCost probe_format_cost(const INumberFormat& format, Role role, int64_t extent) {
  const int64_t l = std::clamp<int64_t>(extent, 1, kProbeExtent);
  Tensor x;
  x.shape = {2, l};
  x.data.resize(static_cast<size_t>(2 * l));
  // Values spread over (0, 1] with both signs, off every coarse grid: 0.0013 .. 0.9993.
  for (int64_t i = 0; i < 2 * l; ++i) {
    const double v = static_cast<double>((i * 7919) % 997 + 1) / 997.0 - 0.0007;
    x.data[static_cast<size_t>(i)] = static_cast<float>(i % 3 == 1 ? -v : v);
  }
  QuantContext ctx;
  ctx.role = role;
  ctx.tensor_id = 0;
  ctx.reduction_axis = 1;
  ctx.seed = 1;
  QTensor q1 = format.quantize(x, ctx);
  ctx.seed = 2;
  QTensor q2 = format.quantize(x, ctx);

  const FormatInfo& info = format.info();
  FormatCost c;
  c.name = info.name;
  c.code_bits = info.code_bits;
  c.stochastic = q1.codes != q2.codes;
  const int64_t groups = q1.groups.num_groups();
  if (groups > 1) {
    c.group_elements = static_cast<double>(2 * l) / static_cast<double>(groups);
    c.scale_bits = info.scale_bits() / c.group_elements;
  }
  c.quant_ops_per_element = quant_ops_per_element(info, c.stochastic);
  return c;
}

FormatPtr FormatCostCache::format_for(const ArchConfig& arch, const LayerSpec& layer, Role role) {
  const std::string* spec = nullptr;
  FormatPtr def;
  switch (role) {
    case Role::kWeight:
      spec = &layer.precision.weight;
      def = arch.pe.weight;
      break;
    case Role::kActivation:
      spec = &layer.precision.activation;
      def = arch.pe.activation;
      break;
    case Role::kError:
      spec = &layer.precision.error;
      def = arch.pe.error;
      break;
  }
  if (spec->empty()) {
    if (!def) throw std::logic_error("sim plan: the architecture has no format for a role");
    return def;
  }
  auto it = m_specs.find(*spec);
  if (it != m_specs.end()) return it->second;
  FormatPtr f = make_format(
      *spec, SourceLoc{fmt::format("<layer {} precision.{}>", layer.name, role_name(role))});
  m_specs.emplace(*spec, f);
  return f;
}

FormatCost FormatCostCache::cost(const FormatPtr& f, Role role, int64_t extent) {
  const int64_t l = std::clamp<int64_t>(extent, 1, kProbeExtent);
  auto key = std::make_tuple(f.get(), static_cast<int>(role), l);
  auto it = m_costs.find(key);
  if (it != m_costs.end()) return it->second;
  FormatCost c = probe_format_cost(*f, role, l);
  m_costs.emplace(key, c);
  return c;
}

std::vector<std::pair<size_t, size_t>> training_order(const Workload& w) {
  std::vector<std::pair<size_t, size_t>> order;
  for (size_t li = 0; li < w.layers.size(); ++li)
    for (size_t oi = 0; oi < w.layers[li].ops.size(); ++oi)
      if (w.layers[li].ops[oi].phase == Phase::kFwd) order.emplace_back(li, oi);
  for (size_t r = w.layers.size(); r-- > 0;)
    for (Phase p : {Phase::kDgrad, Phase::kWgrad, Phase::kUpdate})
      for (size_t oi = 0; oi < w.layers[r].ops.size(); ++oi)
        if (w.layers[r].ops[oi].phase == p) order.emplace_back(r, oi);
  return order;
}

namespace {

// Group-scale bits of one operand tensor from its real group layout (FormatInfo::scale_bits() per
// scale, amortised over its elements).
void set_group_cost(FormatCost& c, const INumberFormat& f, const GroupMap& m) {
  const int64_t groups = m.num_groups(), elements = numel(m.shape);
  c.group_elements = groups > 1 ? static_cast<double>(elements) / static_cast<double>(groups) : 0;
  c.scale_bits = groups > 1 ? f.info().scale_bits() / c.group_elements : 0.0;
}

// Conv2d GEMMs: the operands' group layouts on the real tensors and the K segments of the
// lowering (models/numerics/conv_lowering.h). Returns false when the layer's geometry is not one
// conv_lowering expresses (the probe's estimates stay).
bool conv_segments(const ArchConfig& arch, const LayerSpec& layer, const Op& op, int64_t batch,
                   const FormatPtr& fa, const FormatPtr& fb, OpWork& w) {
  const std::optional<ConvGeometry> geo = conv_group_geometry(layer, batch);
  if (!geo || op.phase == Phase::kUpdate) return false;
  const ConvPhase ph = op.phase == Phase::kFwd     ? ConvPhase::kFwd
                       : op.phase == Phase::kDgrad ? ConvPhase::kDgrad
                                                   : ConvPhase::kWgrad;
  const ConvGemmShape s = conv_gemm_shape(ph, *geo, arch.mapping.dgrad_lowering);
  if (s.m != op.m || s.n != op.n || s.k != op.k) return false;  // recorded ops of another shape
  const Shape x{geo->n, geo->c_in, geo->h, geo->w}, wt{geo->c_out, geo->c_in, geo->r, geo->s},
      e{geo->n, geo->c_out, geo->ho, geo->wo};
  auto shape_of = [&](Role r) -> const Shape& {
    return r == Role::kWeight ? wt : r == Role::kActivation ? x : e;
  };
  QuantContext ca, cb;  // conv tensors are quantized as a whole (reduction_axis -1, as verify)
  ca.role = op.a_role;
  cb.role = op.b_role;
  const GroupMap ma = fa->group_map(shape_of(op.a_role), ca);
  const GroupMap mb = fb->group_map(shape_of(op.b_role), cb);
  set_group_cost(w.a, *fa, ma);
  set_group_cost(w.b, *fb, mb);
  if (ma.num_groups() == 1 && mb.num_groups() == 1) {
    w.k_segments = 1;
    return true;
  }
  const ConvGeometry& g = *geo;
  std::vector<int64_t> key = {static_cast<int64_t>(ph),
                              static_cast<int64_t>(arch.mapping.dgrad_lowering),
                              g.n,
                              g.c_in,
                              g.h,
                              g.w,
                              g.c_out,
                              g.r,
                              g.s,
                              g.stride,
                              g.pad};
  for (const GroupMap* m : {&ma, &mb}) key.insert(key.end(), m->block.begin(), m->block.end());
  // Memo for the whole process (a study plans the same layers under many configs): the count is
  // a pure function of the key (phase, lowering, geometry, both group maps).
  static std::mutex memo_mutex;
  static std::map<std::vector<int64_t>, int64_t> memo;
  const std::lock_guard<std::mutex> lock(memo_mutex);
  auto it = memo.find(key);
  if (it == memo.end())
    it = memo.emplace(key, std::max<int64_t>(
                               1, conv_k_segments(ph, g, ma, mb, arch.mapping.dgrad_lowering,
                                                  /*sample=*/4)))
             .first;
  w.k_segments = it->second;
  return true;
}

void plan_gemm(const ArchConfig& arch, const LayerSpec& layer, const Op& op, int64_t batch,
               FormatCostCache& cache, OpWork& w) {
  w.m = op.m;
  w.n = op.n;
  w.k = op.k;
  w.groups = op.groups;
  w.samples = op.samples;
  if (op.m < 1 || op.n < 1 || op.k < 1 || op.groups < 1 || op.samples < 1)
    throw UserError(fmt::format("GEMM needs m, n, k, groups, samples >= 1, got {} {} {} {} {}",
                                op.m, op.n, op.k, op.groups, op.samples));
  w.macs = checked_mul(checked_mul(checked_mul(op.m, op.n, "macs"), op.k, "macs"),
                       checked_mul(op.groups, op.samples, "macs"), "macs");
  if (w.macs > kMaxGemmMacs)
    throw UserError(fmt::format(
        "GEMM m {} x n {} x k {} (x {} groups x {} samples) = {} MACs, more than the limit of {} "
        "(2^50) MACs per GEMM op",
        op.m, op.n, op.k, op.groups, op.samples, w.macs, kMaxGemmMacs));
  const FormatPtr fa = cache.format_for(arch, layer, op.a_role);
  const FormatPtr fb = cache.format_for(arch, layer, op.b_role);
  try {
    mac_family_for(fa->info(), fb->info());  // a pair no family executes is an input error here
  } catch (const UserError& e) {
    throw UserError(
        fmt::format("operands {} x {}: {}", role_name(op.a_role), role_name(op.b_role), e.what()));
  }
  w.a = cache.cost(fa, op.a_role, op.k);
  w.b = cache.cost(fb, op.b_role, op.k);
  if (!conv_segments(arch, layer, op, batch, fa, fb, w)) {
    // The shorter group length along K of A and B (0 = per tensor); the probe's mean group size
    // makes K / length the group count up to rounding noise.
    double len = static_cast<double>(op.k);
    for (double g : {w.a.group_elements, w.b.group_elements})
      if (g > 0) len = std::min(len, g);
    w.k_segments = std::max<int64_t>(
        1, static_cast<int64_t>(std::ceil(static_cast<double>(op.k) / std::max(len, 1.0) - 1e-9)));
  }
  switch (op.phase) {
    case Phase::kFwd:
    case Phase::kDgrad: {
      const Role r = phase_role(op.phase);
      w.out = cache.cost(cache.format_for(arch, layer, r), r, op.n);
      break;
    }
    default:
      w.out = fp32_cost();
      break;
  }
  TilingProblem& p = w.problem;
  p.m = op.m;
  p.n = op.n;
  p.k = op.k;
  p.groups = op.groups;
  p.dataflow = arch.pe.dataflow;
  p.rows = arch.pe.rows;
  p.cols = arch.pe.cols;
  p.ifmap_bits = w.a.bits();
  p.filter_bits = w.b.bits();
  p.ofmap_bits = w.out.bits();
  p.psum_bits = kPsumBits;
  auto spec = [](const BufferConfig& b) {
    BufferSpec s;
    s.capacity_bytes = b.capacity_bytes;
    s.double_buffered = b.double_buffered;
    return s;
  };
  p.unified = arch.buffers.unified;
  if (p.unified) {
    p.global = spec(arch.buffers.global);
  } else {
    p.ifmap = spec(arch.buffers.ifmap);
    p.filter = spec(arch.buffers.filter);
    p.ofmap = spec(arch.buffers.ofmap);
  }
  p.tile_m = arch.mapping.tile_m;
  p.tile_n = arch.mapping.tile_n;
  p.tile_k = arch.mapping.tile_k;
  w.plan = plan_tiles(p);

  w.repeats = checked_mul(op.groups, op.samples, "repeats");
  w.tiles = checked_mul(w.plan.tiles_per_group, w.repeats, "tiles");
  w.folds = checked_mul(w.plan.fold.folds, w.repeats, "folds");
  w.steps_per_tile = 1;
  if (w.tiles < kFewTiles) w.steps_per_tile = kMaxSteps;  // clipped per tile to its folds
  w.demand.add(w.plan.per_group, w.repeats);
  w.compute_cycles = w.demand.compute_cycles;
  if (arch.pe.scalesim_compat && w.compute_cycles > 0) w.compute_cycles -= 1;
  w.quant_elements = op.phase == Phase::kWgrad
                         ? 0
                         : checked_mul(checked_mul(op.m, op.n, "outputs"), w.repeats, "outputs");
  w.quant_ops_per_element = w.out.quant_ops_per_element;
  w.quant_ops = checked_mul(w.quant_elements, w.quant_ops_per_element, "quant ops");
  w.items = 0;
  for (const TileRun& r : w.plan.runs) {
    const int64_t steps = std::min(w.steps_per_tile, r.tile.folds);
    w.items += r.count * std::max<int64_t>(steps, 1);
  }
  w.items = checked_mul(w.items, w.repeats, "items");
  // Memory stays bounded by the largest op, not the whole run: a long run list is dropped here
  // and re-planned (deterministically, same result) by the WorkCursor when the op executes.
  if (w.plan.runs.size() > kMaxKeptRuns) {
    w.plan.runs.clear();
    w.plan.runs.shrink_to_fit();
  }
}

void plan_vector(const ArchConfig& arch, const LayerSpec& layer, const Op& op,
                 FormatCostCache& cache, OpWork& w) {
  w.elements = op.elements;
  w.ops_per_element = op.ops_per_element;
  w.vector_kind = op.vector_kind;
  if (op.elements < 0 || op.ops_per_element < 0)
    throw UserError(fmt::format("vector op needs elements, ops_per_element >= 0, got {} {}",
                                op.elements, op.ops_per_element));
  w.vector_ops = checked_mul(op.elements, op.ops_per_element, "vector ops");
  w.compute_cycles = ceil_div(w.vector_ops, arch.vector_lanes);
  TileDemand& d = w.demand;
  if (op.phase == Phase::kUpdate) {
    w.vec = cache.cost(cache.format_for(arch, layer, Role::kWeight), Role::kWeight, kProbeExtent);
    d.dram_read_ifmap_bytes = bytes_of(op.elements, 3 * 32.0);
    d.dram_write_ofmap_bytes = checked_mul(op.elements, 8, "update bytes");
    d.dram_write_ofmap_bytes += bytes_of(op.elements, w.vec.bits());
    w.quant_elements = op.elements;
  } else {
    const Role r = phase_role(op.phase);
    w.vec = cache.cost(cache.format_for(arch, layer, r), r, kProbeExtent);
    d.dram_read_ifmap_bytes = bytes_of(op.elements, w.vec.bits());
    d.dram_write_ofmap_bytes = bytes_of(op.elements, w.vec.bits());
    w.quant_elements = op.phase == Phase::kWgrad ? 0 : op.elements;
  }
  w.quant_ops_per_element = w.vec.quant_ops_per_element;
  w.quant_ops = checked_mul(w.quant_elements, w.quant_ops_per_element, "quant ops");
  // The DMA fills the input buffer, the vector unit reads it and writes the output buffer, which
  // the DMA drains.
  d.sram_write_ifmap_bytes = d.sram_read_ifmap_bytes = d.dram_read_ifmap_bytes;
  d.sram_write_ofmap_bytes = d.sram_read_ofmap_bytes = d.dram_write_ofmap_bytes;
  d.compute_cycles = w.compute_cycles;

  int64_t in_cap = 0, out_cap = 0;
  if (arch.buffers.unified) {
    BufferSpec g{arch.buffers.global.capacity_bytes, arch.buffers.global.double_buffered};
    in_cap = out_cap = std::max<int64_t>(g.usable_bytes() / 2, 1);
  } else {
    in_cap = std::max<int64_t>(
        BufferSpec{arch.buffers.ifmap.capacity_bytes, arch.buffers.ifmap.double_buffered}
            .usable_bytes(),
        1);
    out_cap = std::max<int64_t>(
        BufferSpec{arch.buffers.ofmap.capacity_bytes, arch.buffers.ofmap.double_buffered}
            .usable_bytes(),
        1);
  }
  int64_t chunks = std::max({std::min<int64_t>(kMaxSteps, op.elements),
                             ceil_div(d.dram_read_ifmap_bytes, in_cap),
                             ceil_div(d.dram_write_ofmap_bytes, out_cap)});
  w.chunks = std::min(chunks, op.elements);
  w.items = w.chunks;
}

}  // namespace

SimPlan plan_simulation(const ArchConfig& arch, const Workload& wl) {
  SimPlan plan;
  FormatCostCache cache;
  for (const auto& [li, oi] : training_order(wl)) {
    const LayerSpec& layer = wl.layers[li];
    Op op = layer.ops[oi];
    if (!apply_dgrad_lowering(layer, wl.batch, arch.mapping.dgrad_lowering, op)) continue;
    OpWork w;
    w.layer_index = li;
    w.op_index = oi;
    w.layer = layer.name;
    w.phase = op.phase;
    w.kind = op.kind;
    w.op = op.name;
    try {
      if (op.kind == OpKind::kGemm)
        plan_gemm(arch, layer, op, wl.batch, cache, w);
      else
        plan_vector(arch, layer, op, cache, w);
    } catch (const UserError& e) {
      throw UserError(prefixed(op_label(layer, op) + ": ", e.what()));
    }
    if (w.kind == OpKind::kGemm) {
      ++plan.gemm_ops;
      plan.total_macs += w.macs;
      plan.total_compute_cycles += w.compute_cycles;
      plan.tiles += w.tiles;
    } else {
      ++plan.vector_ops;
    }
    plan.items += w.items;
    if (plan.items > kMaxWorkItems)
      throw UserError(fmt::format(
          "{}: the run needs {} work items up to this op (tiles, steps and vector chunks), more "
          "than the limit of {} per run; give the array larger buffers or simulate a smaller "
          "workload (batch {})",
          op_label(layer, op), plan.items, kMaxWorkItems, wl.batch));
    plan.ops.push_back(std::move(w));
  }
  return plan;
}

double serial_cycle_bound(const SimPlan& plan, const ArchConfig& arch) {
  const double qepc = static_cast<double>(std::max<int64_t>(arch.quant_elements_per_cycle, 1));
  const double bpc = arch.dram.bytes_per_cycle;
  const double latency = static_cast<double>(arch.dram.latency_cycles);
  double bound = 0;
  for (const OpWork& w : plan.ops) {
    const double items = static_cast<double>(std::max<int64_t>(w.items, 1));
    const double bytes = static_cast<double>(w.demand.dram_read_bytes()) +
                         static_cast<double>(w.demand.dram_write_bytes());
    bound += static_cast<double>(w.compute_cycles);
    bound += static_cast<double>(w.quant_elements) / qepc + items;  // ceil per item
    bound += bytes / bpc + 2 * items * (latency + 1);               // a load and a store per item
    bound += 4 * items;                                             // hand-offs between stages
  }
  return bound;
}

WorkCursor::WorkCursor(const OpWork& op, int64_t quant_elements_per_cycle)
    : m_op(op), m_qepc(std::max<int64_t>(quant_elements_per_cycle, 1)) {
  if (op.kind != OpKind::kGemm) return;
  m_ofmap_total = op.demand.dram_write_ofmap_bytes;
  m_runs = &op.plan.runs;
  if (op.items > 0 && op.plan.runs.empty()) {  // dropped by plan_simulation: plan again
    m_replanned = std::make_unique<TilePlan>(plan_tiles(op.problem));
    m_runs = &m_replanned->runs;
  }
}

void WorkCursor::fill_quant(WorkItem& item, int64_t ofmap_bytes) {
  // Quantized elements follow the final-output bytes (GEMM) or the elements (vector).
  int64_t q = 0;
  if (m_op.kind == OpKind::kGemm) {
    if (m_ofmap_total > 0) {
      m_ofmap_cum += ofmap_bytes;
      const int64_t upto = scale_floor(m_op.quant_elements, m_ofmap_cum, m_ofmap_total);
      q = upto - m_quant_done;
      m_quant_done = upto;
    }
  } else {
    q = ofmap_bytes;  // the caller passes the chunk's quantized elements
    m_quant_done += q;
  }
  item.quant_elements = q;
  item.quant_ops = q * m_op.quant_ops_per_element;
  item.quant_cycles = m_op.quant_ops_per_element > 0 ? ceil_div(q, m_qepc) : 0;
}

namespace {

// x_j of the header comment for every field of a demand.
TileDemand apportion(const TileDemand& d, int64_t lo, int64_t hi, int64_t den) {
  TileDemand o;
  auto part = [&](int64_t x) { return scale_floor(x, hi, den) - scale_floor(x, lo, den); };
  o.compute_cycles = part(d.compute_cycles);
  o.macs = part(d.macs);
  o.dram_read_ifmap_bytes = part(d.dram_read_ifmap_bytes);
  o.dram_read_filter_bytes = part(d.dram_read_filter_bytes);
  o.dram_read_psum_bytes = part(d.dram_read_psum_bytes);
  o.dram_write_ofmap_bytes = part(d.dram_write_ofmap_bytes);
  o.dram_write_psum_bytes = part(d.dram_write_psum_bytes);
  o.sram_read_ifmap_bytes = part(d.sram_read_ifmap_bytes);
  o.sram_write_ifmap_bytes = part(d.sram_write_ifmap_bytes);
  o.sram_read_filter_bytes = part(d.sram_read_filter_bytes);
  o.sram_write_filter_bytes = part(d.sram_write_filter_bytes);
  o.sram_read_ofmap_bytes = part(d.sram_read_ofmap_bytes);
  o.sram_write_ofmap_bytes = part(d.sram_write_ofmap_bytes);
  return o;
}

}  // namespace

bool WorkCursor::next(WorkItem& item) {
  if (m_emitted >= m_op.items) return false;
  item = WorkItem{};
  if (m_op.kind == OpKind::kGemm) {
    const std::vector<TileRun>& runs = *m_runs;
    const TileRecord& t = runs[m_run].tile;
    const int64_t steps = std::max<int64_t>(std::min(m_op.steps_per_tile, t.folds), 1);
    const int64_t f = std::max<int64_t>(t.folds, 1);
    const int64_t lo = scale_floor(f, m_step, steps), hi = scale_floor(f, m_step + 1, steps);
    item.demand = steps == 1 ? t.demand : apportion(t.demand, lo, hi, f);
    item.folds = steps == 1 ? t.folds : hi - lo;
    item.first_of_tile = m_step == 0;
    // advance
    if (++m_step == steps) {
      m_step = 0;
      if (++m_in_run == runs[m_run].count) {
        m_in_run = 0;
        if (++m_run == runs.size()) {
          m_run = 0;
          ++m_rep;
        }
      }
    }
    item.compute_cycles = item.demand.compute_cycles;
    item.macs = item.demand.macs;
    ++m_emitted;
    item.last = m_emitted == m_op.items;
    if (item.last && m_op.compute_cycles < m_op.demand.compute_cycles) {
      // scalesim_compat: the one cycle less per GEMM comes off the last item.
      item.compute_cycles -= m_op.demand.compute_cycles - m_op.compute_cycles;
      item.demand.compute_cycles = item.compute_cycles;
    }
    fill_quant(item, item.demand.dram_write_ofmap_bytes);
    return true;
  }
  const int64_t e = m_op.elements, c = m_op.chunks;
  const int64_t lo = scale_floor(e, m_chunk, c), hi = scale_floor(e, m_chunk + 1, c);
  item.demand = apportion(m_op.demand, lo, hi, e);
  item.compute_cycles = item.demand.compute_cycles;
  item.vector_ops = scale_floor(m_op.vector_ops, hi, e) - scale_floor(m_op.vector_ops, lo, e);
  item.first_of_tile = true;
  ++m_chunk;
  ++m_emitted;
  item.last = m_emitted == m_op.items;
  const int64_t q =
      scale_floor(m_op.quant_elements, hi, e) - scale_floor(m_op.quant_elements, lo, e);
  fill_quant(item, q);
  return true;
}

const std::vector<OpRowColumn>& op_row_columns() {
  using C = OpRowColumn;
  static const std::vector<OpRowColumn> columns = {
      C{"layer", &OpRow::layer},
      C{"phase", &OpRow::phase},
      C{"op", &OpRow::op},
      C{"m", nullptr, &OpRow::m},
      C{"n", nullptr, &OpRow::n},
      C{"k", nullptr, &OpRow::k},
      C{"macs", nullptr, &OpRow::macs},
      C{"folds", nullptr, &OpRow::folds},
      C{"cycles", nullptr, &OpRow::cycles},
      C{"compute_cycles", nullptr, &OpRow::compute_cycles},
      C{"stall_cycles", nullptr, &OpRow::stall_cycles},
      C{"utilization_fraction", nullptr, nullptr, &OpRow::utilization},
      C{"ifmap_sram_read_bytes", nullptr, &OpRow::ifmap_sram_read_bytes},
      C{"filter_sram_read_bytes", nullptr, &OpRow::filter_sram_read_bytes},
      C{"ofmap_sram_write_bytes", nullptr, &OpRow::ofmap_sram_write_bytes},
      C{"dram_read_bytes", nullptr, &OpRow::dram_read_bytes},
      C{"dram_write_bytes", nullptr, &OpRow::dram_write_bytes},
      C{"quant_ops", nullptr, &OpRow::quant_ops},
      C{"vector_ops", nullptr, &OpRow::vector_ops},
  };
  return columns;
}

std::string layers_csv_header() {
  std::string h;
  for (const OpRowColumn& c : op_row_columns()) h += (h.empty() ? "" : ",") + std::string(c.name);
  return h;
}

std::string layers_csv(const std::vector<OpRow>& rows) {
  std::string out = layers_csv_header();
  out += '\n';
  for (const OpRow& r : rows) {
    bool first = true;
    for (const OpRowColumn& c : op_row_columns()) {
      if (!first) out += ',';
      first = false;
      if (c.text) out += csv_field(r.*c.text);
      if (c.integer) out += std::to_string(r.*c.integer);
      if (c.real) out += fmt::format("{:.6f}", r.*c.real);
    }
    out += '\n';
  }
  return out;
}

namespace {

int64_t csv_int(const std::string& s, const std::string& where) {
  int64_t v = 0;
  const auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || p != s.data() + s.size() || s.empty())
    throw UserError(fmt::format("{}: error: '{}' is not an integer", where, s));
  return v;
}

double csv_real(const std::string& s, const std::string& where) {
  try {
    size_t n = 0;
    const double v = std::stod(s, &n);
    if (n == s.size()) return v;
  } catch (const std::exception&) {
  }
  throw UserError(fmt::format("{}: error: '{}' is not a number", where, s));
}

}  // namespace

std::vector<OpRow> parse_layers_csv(const std::string& text, const std::string& file) {
  const std::vector<OpRowColumn>& columns = op_row_columns();
  std::vector<std::string> known;
  for (const OpRowColumn& c : columns) known.push_back(c.name);
  std::istringstream in(text);
  std::string line;
  if (!std::getline(in, line) || line.empty())
    throw UserError(fmt::format("{}:1: error: not a layers.csv header (empty file)", file));
  // Field index -> column; every column must appear exactly once.
  const std::vector<std::string> header = split_csv_line(line);
  std::vector<const OpRowColumn*> at(header.size(), nullptr);
  for (size_t i = 0; i < header.size(); ++i) {
    for (const OpRowColumn& c : columns)
      if (header[i] == c.name) at[i] = &c;
    if (!at[i])
      throw UserError(fmt::format("{}:1: error: unknown layers.csv column '{}'{}; known: {}", file,
                                  header[i],
                                  did_you_mean(header[i], known).empty()
                                      ? ""
                                      : " (did you mean '" + did_you_mean(header[i], known) + "'?)",
                                  join(known)));
    for (size_t j = 0; j < i; ++j)
      if (at[j] == at[i])
        throw UserError(
            fmt::format("{}:1: error: layers.csv column '{}' appears twice", file, header[i]));
  }
  for (const OpRowColumn& c : columns)
    if (std::find(at.begin(), at.end(), &c) == at.end())
      throw UserError(fmt::format("{}:1: error: layers.csv lacks the column '{}'", file, c.name));
  std::vector<OpRow> rows;
  int lineno = 1;
  while (std::getline(in, line)) {
    ++lineno;
    if (line.empty()) continue;
    const std::string where = fmt::format("{}:{}", file, lineno);
    const std::vector<std::string> f = split_csv_line(line);
    if (f.size() != at.size())
      throw UserError(fmt::format("{}: error: {} fields, expected {}", where, f.size(), at.size()));
    OpRow r;
    for (size_t i = 0; i < f.size(); ++i) {
      if (at[i]->text) {
        // A name as a trace would give it (no control characters, UTF-8): it goes into reports.
        if (const std::string problem = name_problem(f[i]); !problem.empty())
          throw UserError(fmt::format("{}: error: {} {}", where, at[i]->name, problem));
        r.*(at[i]->text) = f[i];
      }
      if (at[i]->integer) r.*(at[i]->integer) = csv_int(f[i], where);
      if (at[i]->real) r.*(at[i]->real) = csv_real(f[i], where);
    }
    rows.push_back(std::move(r));
  }
  return rows;
}

}  // namespace lbsim
