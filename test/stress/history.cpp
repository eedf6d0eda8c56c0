// Statement history of a runner (see history.hpp).
#include "history.hpp"

namespace stress {

History::History(size_t capacity, const std::string& script_path) : capacity_(capacity), script_path_(script_path) {
    if (!script_path_.empty()) script_.open(script_path_, std::ios::trunc);
}

void History::Record(long number, const std::string& script, const std::string& outcome) {
    const std::string label = number > 0 ? "-- #" + std::to_string(number) : "--";
    const std::string entry = label + " (" + outcome + ")\n" + script;
    recent_.push_back(entry);
    if (recent_.size() > capacity_) recent_.pop_front();
    if (script_.is_open()) script_ << entry << "\n" << std::flush;
}

std::string History::Recent() const {
    std::string out;
    for (const std::string& entry : recent_) out += entry + "\n";
    return out;
}

}  // namespace stress
