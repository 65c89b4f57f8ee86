// Which model family a directory holds, by config.json's model_type: "bert" is the BERT encoder
// (models/bert.h); anything else, or no config.json (a llama2.c file), goes to the LLaMA path, whose
// config reader refuses what it does not implement, naming the field.
#pragma once

#include "harness/checkpoint/model_dir.h"
#include "harness/smoothing_plan.h"

namespace smoothcheck::pipeline {

Architecture model_architecture(const checkpoint::ModelDir& model);

}  // namespace smoothcheck::pipeline
