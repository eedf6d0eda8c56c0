// Registration of the transaction callback that delivers wake-ups at commit
// (see wakeup.cpp); internal to scheduler/.
#pragma once

namespace ivmx::pg {

// Registers the XactCallback of wakeup.cpp (once, from _PG_init).
void RegisterWakeupCallback();

}  // namespace ivmx::pg
