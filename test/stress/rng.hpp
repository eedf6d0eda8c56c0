// A small deterministic random number generator for the stress test.
//
// SplitMix64, implemented here rather than taken from <random> so that a
// seed yields the same statements with every compiler and standard library:
// a failing run is reproduced from its seed alone. Every draw goes through
// this class; nothing in the generators may depend on the database's answers.
#pragma once

#include <cstdint>
#include <initializer_list>
#include <vector>

namespace stress {

class Rng {
  public:
    explicit Rng(uint64_t seed) : state_(seed) {}

    // An independent generator for stream `stream` (a session, a phase) of
    // the run seeded with `seed`.
    static Rng ForStream(uint64_t seed, uint64_t stream) {
        Rng mixer(seed ^ (stream * 0xd1b54a32d192ed03ULL));
        return Rng(mixer.Next());
    }

    uint64_t Next() {
        uint64_t z = (state_ += 0x9e3779b97f4a7c15ULL);
        z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
        z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
        return z ^ (z >> 31);
    }

    // Uniform in [0, n); n must be positive.
    int Below(int n) { return static_cast<int>(Next() % static_cast<uint64_t>(n)); }

    // Uniform in [lo, hi].
    int Between(int lo, int hi) { return lo + Below(hi - lo + 1); }

    // True with probability `percent` / 100.
    bool Percent(int percent) { return Below(100) < percent; }

    // An index into `weights`, chosen with probability proportional to its weight.
    size_t Weighted(std::initializer_list<int> weights) { return Weighted(std::vector<int>(weights)); }
    size_t Weighted(const std::vector<int>& weights) {
        int total = 0;
        for (int w : weights) total += w;
        int draw = Below(total);
        for (size_t i = 0; i < weights.size(); ++i) {
            if (draw < weights[i]) return i;
            draw -= weights[i];
        }
        return weights.size() - 1;
    }

    template <typename T>
    const T& Pick(const std::vector<T>& items) {
        return items[static_cast<size_t>(Below(static_cast<int>(items.size())))];
    }

  private:
    uint64_t state_;
};

}  // namespace stress
