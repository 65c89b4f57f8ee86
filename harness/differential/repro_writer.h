// A failing case leaves a repro: a folder named after the case holding case.json (seed, parameters,
// backend, failures) and one .npy file per tensor (inputs, expected, actual), readable with numpy.load.
#pragma once

#include <string>

#include "harness/differential/case_runner.h"

namespace smoothcheck {

// Returns the folder written. The folder name is the case name with '/' turned into '__'.
std::string write_repro(const std::string& repro_dir, const CaseReport& report);

// Writes values as a float64 .npy file of the given shape (atomically: temporary file, then rename).
void write_npy(const std::string& path, const std::vector<int64_t>& shape, const std::vector<double>& values);

// Writes text to path atomically (AtomicFileWriter: a temporary file beside it, fsync, rename).
void write_file_atomically(const std::string& path, const std::string& contents);

}  // namespace smoothcheck
