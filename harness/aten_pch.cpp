// The owner of the shared precompiled <ATen/ATen.h> (CMakeLists.txt, SMOOTHCHECK_PRECOMPILE_ATEN): a
// target needs a source to compile its precompiled header; this one has no code of its own.
