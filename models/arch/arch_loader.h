// Architecture YAML (schema v1, arch_config.h) -> validated ArchConfig.
//
// Contract: every key is read once with its default, range and meaning (Params), so one pass
// reports every problem of the file and of the `-p key=value` overrides, sorted by position, as
// one UserError ("file:line:col: error: key.path: message" per line; overrides are located at
// "<cmdline -p #i>", i 1-based). A returned ArchConfig is complete and consistent: the PE array
// type exists, its formats are ones it can execute, exactly one buffer layout is given, every
// size is in bytes and every DRAM figure in cycles of clock_mhz.
#pragma once

#include <string>
#include <vector>

#include "models/arch/arch_config.h"
#include "models/core/params.h"

namespace lbsim {

// Loads `path`, applies the overrides ("a.b=value", in order), validates. Throws UserError.
ArchConfig load_arch(const std::string& path, const std::vector<std::string>& overrides = {});
// An architecture file, or the built-in default when `path` is empty, with `key.path=value`
// overrides, each from a place (`loc`; an empty loc.file means "<cmdline -p #i>", 1-based).
struct ArchOverride {
  std::string assignment;
  SourceLoc loc;
};
ArchConfig load_arch_or_default(const std::string& path,
                                const std::vector<ArchOverride>& overrides);
ArchConfig load_arch_or_default(const std::string& path, const std::vector<std::string>& overrides);
// The same from a file's text; `name` names it in messages.
ArchConfig parse_arch_text(const std::string& text, const std::string& name,
                           const std::vector<ArchOverride>& overrides);
// Validates an already loaded document (overrides applied). Throws UserError.
ArchConfig parse_arch(const ConfigFile& file);
// arch_configs/default.yaml as embedded at build time (source "<built-in default>").
ArchConfig default_arch();
const char* default_arch_yaml();  // its text

// A few human-readable lines: name, array, formats, buffers, DRAM.
std::string arch_summary(const ArchConfig& arch);

// Every key of the schema with default, allowed values and meaning (dotted paths; the buffer
// keys are listed once as buffers.<name>.*), as declared by the parser itself.
struct ArchKeyDoc {
  std::string path;
  std::string default_text, allowed, meaning;
};
std::vector<ArchKeyDoc> arch_key_docs();
std::string describe_arch_keys();  // for list-types

}  // namespace lbsim
