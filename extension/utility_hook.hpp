// Installs pg_ivmx's ProcessUtility hook (see extension/utility_hook.cpp).
#pragma once

namespace ivmx::pg {

void InstallUtilityHook();

}  // namespace ivmx::pg
