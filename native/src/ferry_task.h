/* Internal: the hooks of ferry_task.c that the rest of libferry calls (engine thread only). Not installed. */
#ifndef FERRY_TASK_H
#define FERRY_TASK_H

#include "ferry_internal.h"

/* Registers "ferry.task" and the task stop hook; from ferry__register_system_ops. */
int ferry__register_task_ops(ferry_registry *reg, ferry_engine *e);
/* A context opened (after the engine's open hook) / is about to close (before the engine's close hook). */
void ferry__task_context_opened(uint64_t id, uint64_t parent, uint32_t flags, const char *name);
void ferry__task_context_closing(uint64_t id);

#endif /* FERRY_TASK_H */
