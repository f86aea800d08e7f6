// A shared object that is not a batchproc plugin: it exports a function, but not the entry
// symbol bp_plugin_entry_v1. The host must refuse it with a message naming the file.
#include <batchproc/plugin.h>

extern "C" BP_PLUGIN_EXPORT int no_entry_answer(void) { return 42; }
