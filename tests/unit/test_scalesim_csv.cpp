// SCALE-Sim topology CSV import: shapes, the ceil output-size convention, the header variants,
// the GEMM form, and every error with its exact file:line. Expected values derived by hand in the
// comments.
#include <catch2/catch.hpp>
#include <string>

#include "models/core/error.h"
#include "models/workload/scalesim_csv.h"
#include "models/workload/workload.h"

using namespace lbsim;

namespace {

const std::string kConvHeader =
    "Layer name, IFMAP Height, IFMAP Width, Filter Height, Filter Width, Channels, Num Filter, "
    "Strides,\n";
const std::string kConvColumns =
    "Layer name, IFMAP Height, IFMAP Width, Filter Height, Filter Width, Channels, Num Filter, "
    "Strides";

std::string data_path(const std::string& name) {
  return std::string(LBSIM_TEST_DATA) + "/scalesim/" + name;
}

// The UserError text of importing `text` as "t.csv", or "" when it imports.
std::string error_of(const std::string& text, int64_t batch = 1) {
  try {
    import_scalesim_csv_text(text, "t.csv", batch);
  } catch (const UserError& e) {
    return e.what();
  }
  return "";
}

}  // namespace

TEST_CASE("scalesim: output size follows SCALE-Sim's ceil convention", "[scalesim]") {
  Workload w = import_scalesim_csv_text(kConvHeader +
                                            // 224-11 = 213 = 4*53 + 1: ceil(217/4) = ceil(54.25)
                                            // = 55, where floor(213/4)+1 = 54 would be PyTorch's
                                            "a, 224, 224, 11, 11, 3, 96, 4,\n"
                                            // 227-11 = 216 = 4*54: both give 54+1 = 55
                                            "b, 227, 227, 11, 11, 3, 96, 4,\n"
                                            // 8-3 = 5 = 2*2 + 1: ceil(7/2) = 4 (floor gives 3)
                                            "c, 8, 8, 3, 3, 1, 1, 2,\n"
                                            // 7-3 = 4 = 2*2: ceil(6/2) = 3 = 4/2 + 1
                                            "d, 7, 7, 3, 3, 1, 1, 2,\n"
                                            // filter == ifmap: ceil(3/3) = 1
                                            "e, 5, 5, 5, 5, 1, 1, 3,\n"
                                            // stride > ifmap-filter: ceil((7+20)/20) = 2
                                            "f, 10, 10, 3, 3, 1, 1, 20,\n",
                                        "t.csv", 1);
  REQUIRE(w.layers.size() == 6);
  const int64_t expected[] = {55, 55, 4, 3, 1, 2};
  for (size_t i = 0; i < 6; ++i) {
    INFO("row " << w.layers[i].name);
    CHECK(w.layers[i].out_h == expected[i]);
    CHECK(w.layers[i].out_w == expected[i]);
  }
}

TEST_CASE("scalesim: conv rows become conv2d layers", "[scalesim]") {
  Workload w = import_scalesim_csv(data_path("alexnet_first.csv"), 4);
  CHECK(w.schema_version == 1);
  CHECK(w.network == "alexnet_first");
  CHECK(w.batch == 4);
  CHECK(w.training);
  CHECK(w.smp_samples == 1);
  CHECK(w.input == Shape{3, 224, 224});
  REQUIRE(w.layers.size() == 3);

  const LayerSpec& c1 = w.layers[0];
  CHECK(c1.name == "Conv1");
  CHECK(c1.type == LayerType::kConv2d);
  CHECK(c1.in_channels == 3);
  CHECK(c1.out_channels == 96);
  CHECK(c1.kernel_h == 11);
  CHECK(c1.kernel_w == 11);
  CHECK(c1.stride_h == 4);
  CHECK(c1.stride_w == 4);
  CHECK(c1.pad_h == 0);
  CHECK(c1.pad_w == 0);
  CHECK(c1.dilation_h == 1);
  CHECK(c1.dilation_w == 1);
  CHECK(c1.groups == 1);
  CHECK(c1.in_h == 224);
  CHECK(c1.in_w == 224);
  CHECK(c1.out_h == 55);
  CHECK(c1.out_w == 55);
  CHECK_FALSE(c1.bias);
  CHECK_FALSE(c1.input_grad);
  CHECK(c1.ops.empty());  // not expanded by the import

  // Conv2: 27-5 = 22, stride 1 -> 23. Conv3: 13-3 = 10 -> 11. Not chained to Conv1's 55x55.
  const LayerSpec& c2 = w.layers[1];
  CHECK(c2.name == "Conv2");
  CHECK(c2.in_channels == 96);
  CHECK(c2.out_channels == 256);
  CHECK(c2.kernel_h == 5);
  CHECK(c2.stride_h == 1);
  CHECK(c2.stride_w == 1);
  CHECK(c2.out_h == 23);
  CHECK(c2.out_w == 23);
  CHECK(c2.input_grad);
  const LayerSpec& c3 = w.layers[2];
  CHECK(c3.name == "Conv3");
  CHECK(c3.in_channels == 256);
  CHECK(c3.out_channels == 384);
  CHECK(c3.out_h == 11);
  CHECK(c3.out_w == 11);
  CHECK(c3.input_grad);
}

TEST_CASE("scalesim: 9-column form has separate vertical and horizontal strides", "[scalesim]") {
  Workload w = import_scalesim_csv(data_path("rect_strides.csv"), 2);
  CHECK(w.network == "rect_strides");
  CHECK(w.input == Shape{4, 10, 12});
  REQUIRE(w.layers.size() == 2);
  const LayerSpec& c1 = w.layers[0];
  CHECK(c1.in_h == 10);
  CHECK(c1.in_w == 12);
  CHECK(c1.kernel_h == 3);
  CHECK(c1.kernel_w == 5);
  CHECK(c1.stride_h == 2);
  CHECK(c1.stride_w == 3);
  CHECK(c1.out_h == 5);  // ceil((10-3+2)/2) = ceil(4.5) = 5
  CHECK(c1.out_w == 4);  // ceil((12-5+3)/3) = ceil(3.33) = 4
  const LayerSpec& c2 = w.layers[1];
  CHECK(c2.stride_h == 2);
  CHECK(c2.stride_w == 1);
  CHECK(c2.out_h == 4);  // ceil((8-3+2)/2) = ceil(3.5) = 4
  CHECK(c2.out_w == 6);  // 8-3+1
}

TEST_CASE("scalesim: header spellings, trailing commas, comments, blank lines", "[scalesim]") {
  // Same layer under different header spellings; rows with and without the trailing comma.
  const std::string rows = "x, 9, 9, 3, 3, 2, 4, 2,\ny,9,9,3,3,2,4,2\n";
  const char* headers[] = {
      "Layer name, IFMAP Height, IFMAP Width, Filter Height, Filter Width, Channels, Num Filter, "
      "Strides,",
      "layer_name,ifmap_height,ifmap_width,filter_height,filter_width,channels,num_filter,strides",
      "LAYERNAME,IFMAPHEIGHT,IFMAPWIDTH,FILTERHEIGHT,FILTERWIDTH,CHANNELS,NUMFILTER,STRIDE",
      "  Layer ,  Ifmap   Height , IFMAP_Width,Filter Height ,Filter Width,Channels,Num Filters, "
      "Stride Height ,",
  };
  for (const char* h : headers) {
    INFO(h);
    Workload w = import_scalesim_csv_text(std::string(h) + "\n" + rows, "t.csv", 1);
    REQUIRE(w.layers.size() == 2);
    for (const LayerSpec& l : w.layers) {
      CHECK(l.in_h == 9);
      CHECK(l.kernel_w == 3);
      CHECK(l.in_channels == 2);
      CHECK(l.out_channels == 4);
      CHECK(l.stride_h == 2);
      CHECK(l.stride_w == 2);
      CHECK(l.out_h == 4);  // 9-3 = 6 = 2*3 -> 3+1
    }
  }

  // Comments (whole-line and trailing, as in SCALE-Sim's "...,1,#dw"), blank lines, CRLF, BOM.
  Workload w = import_scalesim_csv_text(
      "\xEF\xBB\xBF# a comment\r\n\r\n" + kConvHeader + "   \n\tdw1, 6, 6, 3, 3, 1, 1, 1,#dw\r\n" +
          "# another\n" + "pw1, 4, 4, 1, 1, 8, 16, 1,  # pointwise\n\n",
      "dir/mobile.csv", 1);
  CHECK(w.network == "mobile");
  REQUIRE(w.layers.size() == 2);
  CHECK(w.layers[0].name == "dw1");
  CHECK(w.layers[0].stride_h == 1);
  CHECK(w.layers[0].out_h == 4);
  CHECK(w.layers[1].name == "pw1");
  CHECK(w.layers[1].out_channels == 16);
  CHECK(w.layers[1].out_w == 4);
}

TEST_CASE("scalesim: GEMM form rows become linear layers, unscaled by batch", "[scalesim]") {
  Workload w = import_scalesim_csv(data_path("bert_base_gemms.csv"), 8);
  CHECK(w.network == "bert_base_gemms");
  CHECK(w.batch == 8);
  CHECK(w.input == Shape{512, 768});  // {M, K} of the first row
  REQUIRE(w.layers.size() == 4);
  const LayerSpec& q = w.layers[0];
  CHECK(q.name == "qkv_proj");
  CHECK(q.type == LayerType::kLinear);
  CHECK(q.rows == 512);           // M, not 8*512
  CHECK(q.in_channels == 768);    // K
  CHECK(q.out_channels == 2304);  // N
  CHECK_FALSE(q.bias);
  CHECK_FALSE(q.input_grad);
  const LayerSpec& d = w.layers[3];
  CHECK(d.name == "ffn_down");
  CHECK(d.rows == 512);
  CHECK(d.in_channels == 3072);
  CHECK(d.out_channels == 768);
  CHECK(d.input_grad);

  // Header variants: "Layer Name" and lower case, no trailing comma.
  Workload v = import_scalesim_csv_text("layer name,m,n,k\ng1,3,5,7\n", "g.csv", 1);
  REQUIRE(v.layers.size() == 1);
  CHECK(v.layers[0].rows == 3);
  CHECK(v.layers[0].out_channels == 5);
  CHECK(v.layers[0].in_channels == 7);
}

TEST_CASE("scalesim: empty files", "[scalesim]") {
  const std::string empty =
      "t.csv: error: empty file: expected a SCALE-Sim topology header row (conv form: " +
      kConvColumns + "[, Stride Width]; GEMM form: Layer Name, M, N, K) and one row per layer";
  CHECK(error_of("") == empty);
  CHECK(error_of("\n  \n# only a comment\n\n") == empty);
  CHECK(error_of("# c\n" + kConvHeader + "\n") ==
        "t.csv:2: error: header: no layer rows follow the header");
}

TEST_CASE("scalesim: header errors", "[scalesim]") {
  const std::string conv_form = "; the conv form has the columns " + kConvColumns;
  // Misspelling, with a did-you-mean; the rows are still checked (the column count is right).
  CHECK(error_of("Layer name, IFMAP Height, IFMAP Width, Fliter Height, Filter Width, Channels, "
                 "Num Filter, Strides\na, 9, 9, 3, 3, 1, 0, 1\n") ==
        "t.csv:1: error: header: column 4 'Fliter Height': unknown column (did you mean 'Filter "
        "Height'?)" +
            conv_form +
            "\n"
            "t.csv:2: error: row 'a': Num Filter: must be positive, got 0");
  // Nothing close enough to suggest.
  CHECK(error_of("Layer name, IFMAP Height, IFMAP Width, Filter Height, Filter Width, Channels, "
                 "Num Filter, Banana\na, 9, 9, 3, 3, 1, 1, 1\n") ==
        "t.csv:1: error: header: column 8 'Banana': unknown column" + conv_form);
  // Columns out of SCALE-Sim's positional order.
  CHECK(error_of("Layer name, IFMAP Width, IFMAP Height, Filter Height, Filter Width, Channels, "
                 "Num Filter, Strides\na, 9, 9, 3, 3, 1, 1, 1\n") ==
        "t.csv:1: error: header: column 2 'IFMAP Width': expected 'IFMAP Height' here (SCALE-Sim "
        "reads the columns by position)" +
            conv_form +
            "\n"
            "t.csv:1: error: header: column 3 'IFMAP Height': expected 'IFMAP Width' here "
            "(SCALE-Sim reads the columns by position)" +
            conv_form);
  // Missing column: the rows are not checked.
  CHECK(error_of("Layer name, IFMAP Height, IFMAP Width, Filter Height, Filter Width, Channels, "
                 "Num Filter,\na, 9, 9, 3, 3, 1, 1, 1,\n") ==
        "t.csv:1: error: header: missing column 'Strides'" + conv_form);
  CHECK(error_of("Layer name, IFMAP Height, IFMAP Width, Filter Height\na,1,1,1\n") ==
        "t.csv:1: error: header: missing columns 'Filter Width', 'Channels', 'Num Filter', "
        "'Strides'" +
            conv_form);
  // A column missing in the middle: the later ones are out of place, and only it is missing.
  CHECK(error_of("Layer name, IFMAP Height, IFMAP Width, Filter Height, Channels, Num Filter, "
                 "Strides\na, 9, 9, 3, 1, 1, 1\n") ==
        "t.csv:1: error: header: column 5 'Channels': expected 'Filter Width' here (SCALE-Sim "
        "reads the columns by position)" +
            conv_form +
            "\n"
            "t.csv:1: error: header: column 6 'Num Filter': expected 'Channels' here (SCALE-Sim "
            "reads the columns by position)" +
            conv_form +
            "\n"
            "t.csv:1: error: header: column 7 'Strides': expected 'Num Filter' here (SCALE-Sim "
            "reads the columns by position)" +
            conv_form +
            "\n"
            "t.csv:1: error: header: missing column 'Filter Width'" +
            conv_form);
  // A 10th column.
  CHECK(error_of("Layer name, IFMAP Height, IFMAP Width, Filter Height, Filter Width, Channels, "
                 "Num Filter, Stride height, Stride width, Sparsity,\na,9,9,3,3,1,1,1,1,2:4,\n") ==
        "t.csv:1: error: header: column 10 'Sparsity': unexpected column; the conv form has the "
        "columns " +
            kConvColumns + ", Stride Width");
  // GEMM form: the unnamed 'K' is suggested.
  CHECK(error_of("Layer, M, N, Kay\ng,1,2,3\n") ==
        "t.csv:1: error: header: column 4 'Kay': unknown column (did you mean 'K'?); the GEMM "
        "form has the columns Layer Name, M, N, K");
  // Quoted header.
  CHECK(error_of("\"Layer name\", M, N, K\ng,1,2,3\n") ==
        "t.csv:1: error: header: quoted fields are not supported (SCALE-Sim splits on every "
        "comma); expected conv form: " +
            kConvColumns + "[, Stride Width]; GEMM form: Layer Name, M, N, K");
}

TEST_CASE("scalesim: row errors are all reported with their line", "[scalesim]") {
  const std::string path = data_path("bad_rows.csv");
  std::string msg;
  try {
    import_scalesim_csv(path, 1);
  } catch (const UserError& e) {
    msg = e.what();
  }
  CHECK(msg == path + ":5: error: row 'conv2': Num Filter: 'x' is not an integer\n" + path +
                   ":6: error: row 'conv3': Filter Height: 5 is larger than IFMAP Height 4\n" +
                   path + ":7: error: row 'conv1': Layer name: duplicate of the layer on line 4\n" +
                   path + ":8: error: row 'conv5': 7 fields, expected 8 (" + kConvColumns + ")");
}

TEST_CASE("scalesim: each kind of bad value names its column", "[scalesim]") {
  CHECK(error_of(kConvHeader + "a, 9, 9.5, 3, 3, 1, 1, 1,\n") ==
        "t.csv:2: error: row 'a': IFMAP Width: '9.5' is not an integer");
  CHECK(error_of(kConvHeader + "a, 9, 9, 3, 3, , 1, 1,\n") ==
        "t.csv:2: error: row 'a': Channels: missing value");
  CHECK(error_of(kConvHeader + "a, 9, 9, 3, 3, 1, 1, -2,\n") ==
        "t.csv:2: error: row 'a': Strides: must be positive, got -2");
  CHECK(error_of(kConvHeader + "a, 9, 9, 3, 3, 1, 99999999999999999999, 1,\n") ==
        "t.csv:2: error: row 'a': Num Filter: '99999999999999999999' is out of range");
  CHECK(error_of(kConvHeader + "a, 9, 9, 3, 3x, 1, 1, 1,\n") ==
        "t.csv:2: error: row 'a': Filter Width: '3x' is not an integer");
  CHECK(error_of(kConvHeader + ", 9, 9, 3, 3, 1, 1, 1,\n") ==
        "t.csv:2: error: row: Layer name: missing value");
  CHECK(error_of(kConvHeader + "a, 0, 9, 3, 4, 1, 1, 1,\n") ==
        "t.csv:2: error: row 'a': IFMAP Height: must be positive, got 0");
  // Several problems in one row, each reported.
  CHECK(error_of(kConvHeader + "a, 2, 3, 3, 4, 1, 1, 1,\n") ==
        "t.csv:2: error: row 'a': Filter Height: 3 is larger than IFMAP Height 2\n"
        "t.csv:2: error: row 'a': Filter Width: 4 is larger than IFMAP Width 3");
  CHECK(error_of(kConvHeader + "a, 9, 9, 3, 3, 1, 1, 1,\na, 2, 9, 3, 3, 1, 1, 1,\n") ==
        "t.csv:3: error: row 'a': Layer name: duplicate of the layer on line 2\n"
        "t.csv:3: error: row 'a': Filter Height: 3 is larger than IFMAP Height 2");
  CHECK(error_of(kConvHeader + "\"conv,1\", 9, 9, 3, 3, 1, 1, 1,\n") ==
        "t.csv:2: error: row: quoted fields are not supported (SCALE-Sim splits on every comma)");
  // 9-column form: a row with 8 fields is short by one.
  CHECK(error_of("Layer name,IFMAP Height,IFMAP Width,Filter Height,Filter Width,Channels,Num "
                 "Filter,Strides,Stride Width\na,9,9,3,3,1,1,1,\n") ==
        "t.csv:2: error: row 'a': 8 fields, expected 9 (" + kConvColumns + ", Stride Width)");
  // Two trailing commas leave one empty field: too many fields.
  CHECK(error_of(kConvHeader + "a, 9, 9, 3, 3, 1, 1, 1,,\n") ==
        "t.csv:2: error: row 'a': 9 fields, expected 8 (" + kConvColumns + ")");
  // GEMM form.
  CHECK(error_of("Layer, M, N, K,\ng1, 4, 0, 2,\ng1, 4, 4, 2,\ng3, 4, 4,\n") ==
        "t.csv:2: error: row 'g1': N: must be positive, got 0\n"
        "t.csv:3: error: row 'g1': Layer Name: duplicate of the layer on line 2\n"
        "t.csv:4: error: row 'g3': 3 fields, expected 4 (Layer Name, M, N, K)");
}

TEST_CASE("scalesim: bad batch and unreadable file", "[scalesim]") {
  CHECK(error_of(kConvHeader + "a, 9, 9, 3, 3, 1, 1, 1,\n", 0) ==
        "t.csv: error: batch: must be >= 1, got 0");
  const std::string missing = data_path("no_such_topology.csv");
  CHECK_THROWS_WITH(import_scalesim_csv(missing, 1),
                    missing + ": error: cannot open file: no such file");
  CHECK_THROWS_WITH(import_scalesim_csv(std::string(LBSIM_TEST_DATA) + "/scalesim", 1),
                    Catch::Contains("is a directory, not a file"));
  // A layer name with a control character would break layers.csv (fuzz regression).
  CHECK(error_of("Layer name, M, N, K,\nfc\x01, 4, 4, 4,\n", 1) ==
        "t.csv:2: error: row: Layer Name: contains the control character 0x01 at position 3");
}

TEST_CASE("scalesim: expanded GEMMs use the imported shapes", "[scalesim]") {
  Workload w = import_scalesim_csv(data_path("alexnet_first.csv"), 4);
  expand_workload(w);
  auto gemm_of = [](const LayerSpec& l, Phase p) -> const Op* {
    for (const Op& op : l.ops)
      if (op.phase == p && op.kind == OpKind::kGemm) return &op;
    return nullptr;
  };
  // Conv1 fwd: M = batch*Ho*Wo = 4*55*55 = 12100, N = Num Filter = 96, K = Channels*R*S =
  // 3*11*11 = 363. The first layer has no dgrad.
  const Op* f1 = gemm_of(w.layers[0], Phase::kFwd);
  REQUIRE(f1 != nullptr);
  CHECK(f1->m == 12100);
  CHECK(f1->n == 96);
  CHECK(f1->k == 363);
  CHECK(f1->groups == 1);
  CHECK(gemm_of(w.layers[0], Phase::kDgrad) == nullptr);
  // Conv2 fwd: M = 4*23*23 = 2116, N = 256, K = 96*5*5 = 2400; dgrad M = 2116, N = 2400, K = 256.
  const Op* f2 = gemm_of(w.layers[1], Phase::kFwd);
  REQUIRE(f2 != nullptr);
  CHECK(f2->m == 2116);
  CHECK(f2->n == 256);
  CHECK(f2->k == 2400);
  const Op* d2 = gemm_of(w.layers[1], Phase::kDgrad);
  REQUIRE(d2 != nullptr);
  CHECK(d2->m == 2116);
  CHECK(d2->n == 2400);
  CHECK(d2->k == 256);

  // GEMM form with batch 8: fwd is exactly M x N x K = 512 x 2304 x 768 (rows not scaled).
  Workload g = import_scalesim_csv(data_path("bert_base_gemms.csv"), 8);
  expand_workload(g);
  const Op* q = gemm_of(g.layers[0], Phase::kFwd);
  REQUIRE(q != nullptr);
  CHECK(q->m == 512);
  CHECK(q->n == 2304);
  CHECK(q->k == 768);
}
