#include "cases/case_tables.h"

namespace smoothcheck::cases {

const std::vector<int64_t>& hidden_sizes() {
  static const std::vector<int64_t> sizes = {1, 7, 17, 64, 1024, 1025, 1026, 4096, 5137, 8193, 11008};
  return sizes;
}

}  // namespace smoothcheck::cases
