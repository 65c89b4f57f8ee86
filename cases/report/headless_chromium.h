// Renders a page in headless Chromium (Debian's `chromium`) and reports what a reader would notice:
// messages the page wrote to the console (script errors included: the page logs nothing when
// healthy) and how much of the screenshot differs from the background (0: a blank page).
#pragma once

#include <filesystem>
#include <optional>
#include <string>
#include <vector>

namespace smoothcheck::testing {

// The browser command (chromium, chromium-browser or google-chrome on PATH), or nullopt.
std::optional<std::string> find_chromium();

struct RenderResult {
  bool screenshot_written = false;
  std::vector<std::string> console;  // one entry per console message, as Chromium logs it
  double inked_fraction = 0;         // pixels unlike the top-left (background) pixel, of all pixels
  std::string browser_output;        // everything the browser printed, for failure messages
};

RenderResult render_page(const std::string& chromium, const std::filesystem::path& html, const std::filesystem::path& png);

// Fraction of pixels of an 8-bit RGB(A) PNG unlike its top-left pixel. Throws std::runtime_error
// naming the file when it is not a readable PNG.
double inked_fraction(const std::filesystem::path& png);

}  // namespace smoothcheck::testing
