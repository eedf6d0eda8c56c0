// Module-wide settings of pg_ivmx (configuration parameters).
#pragma once

#include "catalog.hpp"

namespace ivmx::pg {

// Value of ivmx.default_mode.
MaintenanceMode DefaultMode();

}  // namespace ivmx::pg
