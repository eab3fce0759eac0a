#include "models/workload/scalesim_csv.h"

#include <fmt/format.h>

#include <algorithm>
#include <cctype>
#include <charconv>
#include <filesystem>
#include <map>
#include <system_error>
#include <vector>

#include "models/core/error.h"
#include "models/core/input_file.h"

namespace lbsim {

namespace {

enum class Form { kConv, kGemm };

// One header column: the name used in messages and the normalised spellings accepted for it.
struct Column {
  const char* display;
  std::vector<std::string> keys;  // normalised (see normalise()); keys[0] is the canonical one
};

// Column positions. Conv form, in SCALE-Sim's positional order (the 9th, kStrideW, is optional):
constexpr size_t kName = 0, kIfmapH = 1, kIfmapW = 2, kFilterH = 3, kFilterW = 4, kChannels = 5,
                 kNumFilter = 6, kStrideH = 7, kStrideW = 8, kConvCols = 9;
// GEMM form:
constexpr size_t kGemmM = 1, kGemmN = 2, kGemmK = 3, kGemmCols = 4;
constexpr size_t kNoColumn = static_cast<size_t>(-1);

const std::vector<Column>& conv_columns() {
  static const std::vector<Column> cols = {
      {"Layer name", {"layername", "layer"}},
      {"IFMAP Height", {"ifmapheight"}},
      {"IFMAP Width", {"ifmapwidth"}},
      {"Filter Height", {"filterheight"}},
      {"Filter Width", {"filterwidth"}},
      {"Channels", {"channels"}},
      {"Num Filter", {"numfilter", "numfilters"}},
      {"Strides", {"strides", "stride", "strideheight"}},
      {"Stride Width", {"stridewidth"}},
  };
  return cols;
}

const std::vector<Column>& gemm_columns() {
  static const std::vector<Column> cols = {
      {"Layer Name", {"layername", "layer"}},
      {"M", {"m"}},
      {"N", {"n"}},
      {"K", {"k"}},
  };
  return cols;
}

// Lower case, without spaces, tabs and underscores: "IFMAP Height" -> "ifmapheight".
std::string normalise(const std::string& s) {
  std::string out;
  for (char c : s) {
    if (c == ' ' || c == '\t' || c == '_') continue;
    out.push_back(static_cast<char>(std::tolower(static_cast<unsigned char>(c))));
  }
  return out;
}

std::string trim(const std::string& s) {
  size_t b = 0, e = s.size();
  while (b < e && std::isspace(static_cast<unsigned char>(s[b]))) ++b;
  while (e > b && std::isspace(static_cast<unsigned char>(s[e - 1]))) --e;
  return s.substr(b, e - b);
}

// Index of the column among the first `count` of `cols` that accepts `key`, or kNoColumn.
size_t find_column(const std::vector<Column>& cols, size_t count, const std::string& key) {
  for (size_t i = 0; i < count && i < cols.size(); ++i)
    for (const auto& k : cols[i].keys)
      if (k == key) return i;
  return kNoColumn;
}

std::string expected_list(const std::vector<Column>& cols, size_t count) {
  std::vector<std::string> names;
  for (size_t i = 0; i < count && i < cols.size(); ++i) names.push_back(cols[i].display);
  return join(names);
}

std::string both_forms() {
  return fmt::format("conv form: {}[, {}]; GEMM form: {}", expected_list(conv_columns(), kStrideW),
                     conv_columns()[kStrideW].display, expected_list(gemm_columns(), kGemmCols));
}

// A non-blank, non-comment line: its 1-based number and its trimmed fields.
struct CsvLine {
  int number = 0;
  std::vector<std::string> fields;
  bool quoted = false;
};

std::vector<CsvLine> split_lines(const std::string& text) {
  std::vector<CsvLine> lines;
  size_t pos = 0;
  int number = 0;
  while (pos < text.size()) {
    size_t end = text.find('\n', pos);
    if (end == std::string::npos) end = text.size();
    std::string raw = text.substr(pos, end - pos);
    pos = end + 1;
    ++number;
    if (number == 1 && raw.compare(0, 3, "\xEF\xBB\xBF") == 0) raw.erase(0, 3);
    size_t hash = raw.find('#');
    if (hash != std::string::npos) raw.erase(hash);
    raw = trim(raw);
    if (raw.empty()) continue;
    CsvLine line;
    line.number = number;
    line.quoted = raw.find('"') != std::string::npos;
    size_t start = 0;
    while (true) {
      size_t comma = raw.find(',', start);
      if (comma == std::string::npos) {
        line.fields.push_back(trim(raw.substr(start)));
        break;
      }
      line.fields.push_back(trim(raw.substr(start, comma - start)));
      start = comma + 1;
    }
    // One trailing comma ("a,b,c,") is tolerated: drop the empty last field it leaves.
    if (line.fields.size() > 1 && line.fields.back().empty()) line.fields.pop_back();
    lines.push_back(std::move(line));
  }
  return lines;
}

// Parses `field` as a positive decimal integer; on failure reports "Column: problem" and returns 0.
int64_t parse_positive(const std::string& field, const char* column, Diagnostics& diag,
                       const SourceLoc& loc, const std::string& key) {
  if (field.empty()) {
    diag.error(loc, key, fmt::format("{}: missing value", column));
    return 0;
  }
  int64_t v = 0;
  const char* first = field.data();
  const char* last = field.data() + field.size();
  auto [ptr, ec] = std::from_chars(first, last, v);
  if (ec == std::errc::result_out_of_range) {
    diag.error(loc, key, fmt::format("{}: '{}' is out of range", column, field));
    return 0;
  }
  if (ec != std::errc() || ptr != last) {
    diag.error(loc, key, fmt::format("{}: '{}' is not an integer", column, field));
    return 0;
  }
  if (v <= 0) {
    diag.error(loc, key, fmt::format("{}: must be positive, got {}", column, v));
    return 0;
  }
  return v;
}

// SCALE-Sim's output size: ceil((ifmap - filter + stride) / stride), for filter <= ifmap, written
// as ceil(d / stride) + 1 with d = ifmap - filter >= 0 so that nothing can overflow.
int64_t scalesim_out(int64_t ifmap, int64_t filter, int64_t stride) {
  int64_t d = ifmap - filter;
  return d / stride + (d % stride != 0 ? 1 : 0) + 1;
}

// Checks the header; returns the form and sets `ncols` (columns every row must have). Reports
// problems to `diag`; returns false when the rows cannot be interpreted (wrong column count).
bool check_header(const CsvLine& header, const std::string& file, Diagnostics& diag, Form& form,
                  size_t& ncols) {
  SourceLoc loc{file, header.number, 0};
  if (header.quoted) {
    diag.error(loc, "header",
               "quoted fields are not supported (SCALE-Sim splits on every comma); expected " +
                   both_forms());
    return false;
  }
  const size_t n = header.fields.size();
  std::vector<std::string> keys;
  for (const auto& f : header.fields) keys.push_back(normalise(f));

  // Form: whichever has more recognised (non-name) columns; on a tie, by the column count.
  int conv_hits = 0, gemm_hits = 0;
  for (const auto& k : keys) {
    size_t c = find_column(conv_columns(), kConvCols, k);
    size_t g = find_column(gemm_columns(), kGemmCols, k);
    if (c != kNoColumn && c != kName) ++conv_hits;
    if (g != kNoColumn && g != kName) ++gemm_hits;
  }
  if (gemm_hits != conv_hits)
    form = gemm_hits > conv_hits ? Form::kGemm : Form::kConv;
  else
    form = n <= kGemmCols ? Form::kGemm : Form::kConv;

  const std::vector<Column>& cols = form == Form::kGemm ? gemm_columns() : conv_columns();
  const size_t min_cols = form == Form::kGemm ? kGemmCols : kStrideW;
  const size_t max_cols = form == Form::kGemm ? kGemmCols : kConvCols;
  ncols = std::min(std::max(n, min_cols), max_cols);
  const std::string expected = expected_list(cols, ncols);
  const std::string form_name = form == Form::kGemm ? "GEMM" : "conv";

  // Columns that no header field names (wherever it stands): the suggestions for unknown names
  // and, among the required ones, the missing columns.
  std::vector<bool> named(max_cols, false);
  for (const auto& k : keys) {
    size_t c = find_column(cols, max_cols, k);
    if (c != kNoColumn) named[c] = true;
  }
  std::vector<std::string> unnamed;
  for (size_t i = 0; i < max_cols; ++i)
    if (!named[i]) unnamed.push_back(cols[i].keys[0]);

  bool ok = true;
  for (size_t i = 0; i < n; ++i) {
    const std::string& text = header.fields[i];
    if (i >= max_cols) {
      diag.error(loc, "header",
                 fmt::format("column {} '{}': unexpected column; the {} form has the columns {}",
                             i + 1, text, form_name, expected));
      ok = false;
      continue;
    }
    if (find_column(cols, i + 1, keys[i]) == i) continue;
    size_t elsewhere = find_column(cols, max_cols, keys[i]);
    if (elsewhere != kNoColumn) {
      diag.error(loc, "header",
                 fmt::format("column {} '{}': expected '{}' here (SCALE-Sim reads the columns by "
                             "position); the {} form has the columns {}",
                             i + 1, text, cols[i].display, form_name, expected));
    } else {
      std::string hint;
      std::string best = did_you_mean(keys[i], unnamed);
      if (!best.empty())
        hint =
            fmt::format(" (did you mean '{}'?)", cols[find_column(cols, max_cols, best)].display);
      diag.error(loc, "header",
                 fmt::format("column {} '{}': unknown column{}; the {} form has the columns {}",
                             i + 1, text, hint, form_name, expected));
    }
  }
  if (n < min_cols) {
    std::vector<std::string> missing;
    for (size_t i = 0; i < min_cols; ++i)
      if (!named[i]) missing.push_back(std::string("'") + cols[i].display + "'");
    diag.error(loc, "header",
               fmt::format("missing column{} {}; the {} form has the columns {}",
                           missing.size() > 1 ? "s" : "", join(missing), form_name, expected));
    ok = false;
  }
  return ok;
}

}  // namespace

Workload import_scalesim_csv_text(const std::string& text, const std::string& display_name,
                                  int64_t batch) {
  Diagnostics diag;
  if (batch < 1) {
    diag.error(SourceLoc{display_name, 0, 0}, "batch", fmt::format("must be >= 1, got {}", batch));
    diag.throw_if_any();
  }
  const std::vector<CsvLine> lines = split_lines(text);
  if (lines.empty()) {
    diag.error(SourceLoc{display_name, 0, 0}, "",
               "empty file: expected a SCALE-Sim topology header row (" + both_forms() +
                   ") and one row per layer");
    diag.throw_if_any();
  }

  Form form = Form::kConv;
  size_t ncols = 0;
  if (!check_header(lines[0], display_name, diag, form, ncols)) diag.throw_if_any();
  if (lines.size() == 1) {
    diag.error(SourceLoc{display_name, lines[0].number, 0}, "header",
               "no layer rows follow the header");
    diag.throw_if_any();
  }

  const std::vector<Column>& cols = form == Form::kGemm ? gemm_columns() : conv_columns();
  Workload w;
  w.network = std::filesystem::path(display_name).stem().string();
  w.batch = batch;
  std::map<std::string, int> seen;  // layer name -> line of its first row

  for (size_t li = 1; li < lines.size(); ++li) {
    const CsvLine& line = lines[li];
    SourceLoc loc{display_name, line.number, 0};
    if (line.quoted) {
      diag.error(loc, "row", "quoted fields are not supported (SCALE-Sim splits on every comma)");
      continue;
    }
    const std::string& name = line.fields[0];
    const std::string key = name.empty() ? std::string("row") : "row '" + name + "'";
    if (line.fields.size() != ncols) {
      diag.error(
          loc, key,
          fmt::format("{} field{}, expected {} ({})", line.fields.size(),
                      line.fields.size() == 1 ? "" : "s", ncols, expected_list(cols, ncols)));
      continue;
    }
    bool name_ok = true;
    if (name.empty()) {
      diag.error(loc, key, fmt::format("{}: missing value", cols[kName].display));
      name_ok = false;
    } else if (const std::string problem = name_problem(name); !problem.empty()) {
      diag.error(loc, "row", fmt::format("{}: {}", cols[kName].display, problem));
      name_ok = false;
    } else {
      auto [it, inserted] = seen.emplace(name, line.number);
      if (!inserted) {
        diag.error(
            loc, key,
            fmt::format("{}: duplicate of the layer on line {}", cols[kName].display, it->second));
        name_ok = false;
      }
    }
    std::vector<int64_t> v(ncols, 0);
    bool values_ok = true;
    for (size_t c = 1; c < ncols; ++c) {
      v[c] = parse_positive(line.fields[c], cols[c].display, diag, loc, key);
      if (v[c] == 0) values_ok = false;
    }
    if (!values_ok) continue;

    LayerSpec layer;
    layer.name = name;
    layer.bias = false;
    layer.input_grad = true;  // the first layer's is cleared below
    if (form == Form::kGemm) {
      if (!name_ok) continue;
      layer.type = LayerType::kLinear;
      layer.rows = v[kGemmM];
      layer.in_channels = v[kGemmK];
      layer.out_channels = v[kGemmN];
    } else {
      bool fits = true;
      if (v[kFilterH] > v[kIfmapH]) {
        diag.error(loc, key,
                   fmt::format("{}: {} is larger than {} {}", cols[kFilterH].display, v[kFilterH],
                               cols[kIfmapH].display, v[kIfmapH]));
        fits = false;
      }
      if (v[kFilterW] > v[kIfmapW]) {
        diag.error(loc, key,
                   fmt::format("{}: {} is larger than {} {}", cols[kFilterW].display, v[kFilterW],
                               cols[kIfmapW].display, v[kIfmapW]));
        fits = false;
      }
      if (!fits || !name_ok) continue;
      layer.type = LayerType::kConv2d;
      layer.in_channels = v[kChannels];
      layer.out_channels = v[kNumFilter];
      layer.kernel_h = v[kFilterH];
      layer.kernel_w = v[kFilterW];
      layer.stride_h = v[kStrideH];
      layer.stride_w = ncols > kStrideW ? v[kStrideW] : v[kStrideH];
      layer.pad_h = layer.pad_w = 0;
      layer.dilation_h = layer.dilation_w = 1;
      layer.groups = 1;
      layer.in_h = v[kIfmapH];
      layer.in_w = v[kIfmapW];
      layer.out_h = scalesim_out(layer.in_h, layer.kernel_h, layer.stride_h);
      layer.out_w = scalesim_out(layer.in_w, layer.kernel_w, layer.stride_w);
    }
    w.layers.push_back(std::move(layer));
  }
  diag.throw_if_any();

  // The first row is the first layer (any bad row would have thrown above).
  LayerSpec& first = w.layers.front();
  first.input_grad = false;
  if (form == Form::kGemm)
    w.input = {first.rows, first.in_channels};
  else
    w.input = {first.in_channels, first.in_h, first.in_w};
  return w;
}

Workload import_scalesim_csv(const std::string& path, int64_t batch) {
  const std::string text = read_input_file(path);
  return import_scalesim_csv_text(text, path, batch);
}

}  // namespace lbsim
