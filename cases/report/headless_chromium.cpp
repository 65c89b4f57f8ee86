#include "headless_chromium.h"

#include <png.h>

#include <cstdio>
#include <memory>
#include <sstream>
#include <stdexcept>

#include "report_test_support.h"

namespace smoothcheck::testing {

std::optional<std::string> find_chromium() {
  for (const char* name : {"chromium", "chromium-browser", "google-chrome"}) {
    const CommandResult r = run_command(std::string("command -v ") + name);
    if (r.exit_code == 0 && !r.output.empty()) return std::string(name);
  }
  return std::nullopt;
}

RenderResult render_page(const std::string& chromium, const std::filesystem::path& html, const std::filesystem::path& png) {
  RenderResult result;
  std::filesystem::remove(png);
  // --no-sandbox: CI runs as root, where Chromium's sandbox refuses to start. --enable-logging=stderr
  // --v=0 makes the browser print every console message as "...:CONSOLE(line)] "text", source: ...".
  const std::string command = chromium + " --headless --no-sandbox --disable-gpu --hide-scrollbars --no-first-run" +
                              " --window-size=1200,1600 --enable-logging=stderr --v=0 --screenshot=" +
                              shell_quote(png.string()) + " " +
                              shell_quote("file://" + std::filesystem::absolute(html).string());
  const CommandResult r = run_command("timeout 120 " + command);
  result.browser_output = r.output;
  std::istringstream lines(r.output);
  for (std::string line; std::getline(lines, line);)
    if (line.find(":CONSOLE") != std::string::npos) result.console.push_back(line);
  result.screenshot_written = std::filesystem::exists(png) && std::filesystem::file_size(png) > 0;
  if (result.screenshot_written) result.inked_fraction = inked_fraction(png);
  return result;
}

double inked_fraction(const std::filesystem::path& png) {
  png_image image{};
  image.version = PNG_IMAGE_VERSION;
  if (!png_image_begin_read_from_file(&image, png.string().c_str()))
    throw std::runtime_error(png.string() + ": not a readable PNG (" + image.message + ")");
  image.format = PNG_FORMAT_RGB;
  std::vector<unsigned char> pixels(PNG_IMAGE_SIZE(image));
  if (!png_image_finish_read(&image, nullptr, pixels.data(), 0, nullptr))
    throw std::runtime_error(png.string() + ": cannot decode (" + image.message + ")");
  const std::size_t count = std::size_t(image.width) * image.height;
  if (count == 0) return 0;
  std::size_t inked = 0;
  for (std::size_t i = 0; i < count; ++i)
    if (pixels[3 * i] != pixels[0] || pixels[3 * i + 1] != pixels[1] || pixels[3 * i + 2] != pixels[2]) ++inked;
  return double(inked) / double(count);
}

}  // namespace smoothcheck::testing
