// The statements a runner sent, for failure reports: a ring buffer of the last
// few (printed with a mismatch) and, optionally, a file with all of them as a
// psql script, which replays the run from an empty database.
#pragma once

#include <deque>
#include <fstream>
#include <string>

namespace stress {

class History {
  public:
    // `script_path` empty: no file.
    explicit History(size_t capacity, const std::string& script_path = "");

    // Records statement number `number` (0 for setup and transaction control),
    // its script text and its outcome ("ok" or the error).
    void Record(long number, const std::string& script, const std::string& outcome);

    // The buffered statements, oldest first, one per paragraph.
    std::string Recent() const;

    const std::string& script_path() const { return script_path_; }

  private:
    size_t capacity_;
    std::string script_path_;
    std::ofstream script_;
    std::deque<std::string> recent_;
};

}  // namespace stress
