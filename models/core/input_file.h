// Reading a user-named input file (architecture, trace, energy table, sweep, study, .npy, CSV,
// the files of a run directory) with one set of checks and messages.
//
// Contract: the path must name an existing, readable regular file (symlinks followed). Anything
// else -- no such file, a directory, a device, FIFO or socket, a permission or read error (e.g.
// /proc/self/mem) -- is a UserError "path: error: cannot open file: reason" (or "cannot read file:
// reason"). FIFOs and devices are never opened, so a FIFO cannot block the reader.
#pragma once

#include <string>

namespace lbsim {

// The file's bytes. Throws UserError as above.
std::string read_input_file(const std::string& path);

}  // namespace lbsim
