// CSV fields as lbsim writes and reads them (RFC 4180 quoting, one record per line).
#pragma once

#include <string>
#include <vector>

namespace lbsim {

// The field as written: quoted (inner quotes doubled) when it holds ',', '"', CR or LF.
std::string csv_field(const std::string& s);
// Splits one record; quoted fields may hold commas and doubled quotes; a CR is dropped. No
// embedded newlines (lbsim never writes them unquoted, and its readers go line by line).
std::vector<std::string> split_csv_line(const std::string& line);

}  // namespace lbsim
