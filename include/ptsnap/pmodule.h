/*
 * ptsnap C pmodules: the C ABI of the pmodule API.
 *
 * A C pmodule is a shared object (`*.so`) that ptsnap loads like a Lua
 * module (--module-load FILE.so, or found under --modules-path) and that
 * receives the same events and sees the same objects as a Lua module (see
 * docs/pmodules.md; this header mirrors the Lua API function by function).
 * Build one with nothing but a C compiler:
 *
 *     cc -shared -fPIC -Wall -Werror -I include -o mymodule.so mymodule.c
 *
 * Entry point. A module defines exactly one entry point with
 * PTSNAP_PMODULE_INIT (below), which also exports the ABI version the
 * module was built for (`ptsnap_pmodule_abi`). ptsnap reads that version
 * before it calls anything in the module and refuses a module built for
 * another major version (a one-line error naming the file; the module is
 * listed in the snapshot's pmodules[] with that error, and the other
 * modules run). The entry point receives the function table `api`, whose
 * first fields are ptsnap's ABI major and minor version and the size of
 * the table: a module built for minor N may use every field of minor N; a
 * field added in a later minor is only there when `api->size` covers it
 * (PTSNAP_API_HAS). It calls api->define(...) (as `pmodule.define{}` in
 * Lua), and returns 0; any other value is a failed load (the module is
 * recorded with the error, nothing else of it runs).
 *
 * Handles. Objects (backtrace, thread, frame, variable, bt variable,
 * siginfo, pmap, match) are opaque handles: a 64-bit id, 0 for none. A
 * handle given to a callback, or returned by an api function during it, is
 * valid until that callback returns; api->keep(h.id) keeps it valid until
 * the module is unloaded (a kept handle counts 64 bytes against the
 * module's memory limit). Handles made during the entry point or `load`
 * (matches, bt_query results) are kept. A handle of the wrong kind, an
 * expired handle or an object no longer in the snapshot gives an error
 * code, never another object.
 *
 * Strings. Every `const char *` ptsnap gives (names, paths, config values,
 * the last error) is borrowed: valid until the callback (or the entry
 * point, or `load`/`unload`) that got it returns. Copy what you keep.
 * Strings given to ptsnap are NUL-terminated UTF-8 and copied before the
 * call returns.
 *
 * Errors. Every api function returns a status: PTSNAP_OK (0), a positive
 * count where documented, or a negative PTSNAP_ERR_*; api->last_error()
 * says why in words. A callback returns 0, or nonzero to report a failure:
 * the module is then stopped (no more of its callbacks run) and the error
 * is in the snapshot's pmodules[].errors, as for a Lua error.
 *
 * Threads. ptsnap calls a module from one thread only (its worker), and
 * the api may only be called from inside the entry point or a callback,
 * on that thread (anywhere else it returns PTSNAP_ERR_STATE).
 *
 * No sandbox. A C module is native code in ptsnap's own process: it has no
 * instruction budget and the engine cannot interrupt it. ptsnap still
 * releases the target at --max-pause whatever a callback does (a callback
 * that loops keeps only ptsnap's worker), and a callback that crashes
 * (SIGSEGV, SIGBUS, SIGILL, SIGFPE, abort) is contained: its thread is
 * parked, the target released, and the snapshot written with the crash in
 * its errors. A module that corrupts ptsnap's memory can still corrupt the
 * snapshot: load only modules you trust.
 */
#ifndef PTSNAP_PMODULE_H
#define PTSNAP_PMODULE_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#ifdef __cplusplus
extern "C" {
#endif

/* The ABI version this header describes. A new major version breaks
 * modules built for the previous one; a new minor version only adds
 * fields at the end of struct ptsnap_api. */
#define PTSNAP_PMODULE_ABI_MAJOR 1
#define PTSNAP_PMODULE_ABI_MINOR 2

/* Handles: distinct types so that a frame cannot be passed for a thread.
 * `id` 0 is no object. */
typedef struct { uint64_t id; } ptsnap_backtrace;
typedef struct { uint64_t id; } ptsnap_thread;
typedef struct { uint64_t id; } ptsnap_frame;
typedef struct { uint64_t id; } ptsnap_variable;
typedef struct { uint64_t id; } ptsnap_btvar;
typedef struct { uint64_t id; } ptsnap_siginfo;
typedef struct { uint64_t id; } ptsnap_pmap;
typedef struct { uint64_t id; } ptsnap_match;

/* Status codes. */
enum ptsnap_status {
    PTSNAP_OK = 0,
    /* No such object: a nil result in Lua (no value, no symbol, the end of
     * a lookup). Not a failure. */
    PTSNAP_ERR_NOT_FOUND = -1,
    /* Not a valid handle of the kind asked for (0, expired, wrong kind). */
    PTSNAP_ERR_HANDLE = -2,
    /* A bad argument: NULL where a value is needed, text that is not
     * UTF-8, an unknown enumeration value. */
    PTSNAP_ERR_ARGUMENT = -3,
    /* The operation failed (the object is no longer in the snapshot, the
     * debug information is not available in this event, ...). */
    PTSNAP_ERR_FAILED = -4,
    /* The module is stopped (its memory limit, the engine's pause limit):
     * return from the callback. */
    PTSNAP_ERR_STOPPED = -5,
    /* Called outside the entry point and callbacks, or from another
     * thread. */
    PTSNAP_ERR_STATE = -6,
    /* A bug in ptsnap (please report it). */
    PTSNAP_ERR_INTERNAL = -7
};

/* pmodule.event */
enum ptsnap_event {
    PTSNAP_EVENT_PREATTACH = 0,
    PTSNAP_EVENT_ATTACH = 1,
    PTSNAP_EVENT_THREAD = 2,
    PTSNAP_EVENT_FRAME = 3,
    PTSNAP_EVENT_VARIABLE = 4,
    PTSNAP_EVENT_POSTATTACH = 5
};

/* pmodule.log_level */
enum ptsnap_log_level {
    PTSNAP_LOG_DEBUG = 0,
    PTSNAP_LOG_INFO = 1,
    PTSNAP_LOG_WARNING = 2,
    PTSNAP_LOG_ERROR = 3
};

/* pmodule.variable_type */
enum ptsnap_variable_type {
    PTSNAP_TYPE_LL = 0,
    PTSNAP_TYPE_ULL = 1,
    PTSNAP_TYPE_FLT = 2,
    PTSNAP_TYPE_DBL = 3,
    PTSNAP_TYPE_LDBL = 4,
    PTSNAP_TYPE_CFLT = 5,
    PTSNAP_TYPE_CDBL = 6,
    PTSNAP_TYPE_CLDBL = 7,
    PTSNAP_TYPE_STRING = 8,
    PTSNAP_TYPE_ENUM = 9,
    PTSNAP_TYPE_TUPLE = 10, /* struct, class, union */
    PTSNAP_TYPE_ARRAY = 11,
    PTSNAP_TYPE_BOTTOM = 12, /* no value, void */
    PTSNAP_TYPE_FN = 13,
    PTSNAP_TYPE_REFERENCE = 14 /* pointer or C++ reference */
};

/* pmodule.match_type */
enum ptsnap_match_type {
    PTSNAP_MATCH_EXACT = 0,
    PTSNAP_MATCH_SUBSTR = 1
};

/* pmodule.annotation */
enum ptsnap_annotation {
    PTSNAP_ANNOTATION_COMMENT = 0,
    PTSNAP_ANNOTATION_WARNING = 1,
    PTSNAP_ANNOTATION_CRITICAL = 2,
    /* The text must be {"json": {...}}; anything else is dropped with an
     * error on stderr (the call still returns PTSNAP_OK, as in Lua). */
    PTSNAP_ANNOTATION_JSON = 3
};

/* pmodule.process_state */
enum ptsnap_process_state {
    PTSNAP_STATE_RUNNING = 0,
    PTSNAP_STATE_SLEEPING = 1,
    PTSNAP_STATE_DISK = 2,
    PTSNAP_STATE_STOPPED = 3,
    PTSNAP_STATE_TRACED = 4,
    PTSNAP_STATE_ZOMBIE = 5,
    PTSNAP_STATE_DEAD = 6,
    PTSNAP_STATE_IDLE = 7,
    PTSNAP_STATE_BLOCKED = 8,
    PTSNAP_STATE_QUEUED = 9,
    PTSNAP_STATE_UNKNOWN = 10,
    /* The snapshot was taken of a core dump (`ptsnap core`). */
    PTSNAP_STATE_CORE = 11
};

/* pmodule.pmap_perms, as bits for pmap_permissions (all must hold). */
enum ptsnap_pmap_perm {
    PTSNAP_PMAP_EX = 1 << 0,
    PTSNAP_PMAP_RD = 1 << 1,
    PTSNAP_PMAP_WR = 1 << 2,
    PTSNAP_PMAP_PR = 1 << 3, /* private */
    PTSNAP_PMAP_SH = 1 << 4, /* shared */
    PTSNAP_PMAP_ALL = 1 << 5 /* readable, writable and executable */
};

/* The filter of global and TLS iteration (the Lua table filter): each
 * field NULL or a string; `object` and `cu` match by substring, `name`
 * exactly. */
struct ptsnap_var_filter {
    const char *object;
    const char *cu;
    const char *name;
};

/* Callbacks. `user` is the pointer given when registering. Return 0, or
 * nonzero to stop the module with an error. */
typedef int (*ptsnap_load_fn)(void *user);
typedef int (*ptsnap_backtrace_cb)(ptsnap_backtrace bt, void *user);
typedef int (*ptsnap_thread_cb)(ptsnap_thread thread, void *user);
typedef int (*ptsnap_frame_cb)(ptsnap_frame frame, void *user);
/* `raw` is the variable's bt variable (its type at its address); id 0 for
 * a value that is not in memory. */
typedef int (*ptsnap_variable_cb)(ptsnap_variable var, ptsnap_btvar raw, void *user);

/* The function table. Fields are only ever added at the end (minor
 * versions). Out-parameters are written only on PTSNAP_OK (or, for the
 * iteration functions, a positive return). */
struct ptsnap_api {
    uint32_t abi_major; /* PTSNAP_PMODULE_ABI_MAJOR of the ptsnap running */
    uint32_t abi_minor;
    uint32_t size; /* sizeof(struct ptsnap_api) in that ptsnap */
    uint32_t reserved;

    /* ---- module ---- */
    /* pmodule.define{id=..., load=..., unload=...}: call once from the
     * entry point. `id` is required (unique among the modules), `name` and
     * `version` describe the module (NULL allowed), `load` (required) runs
     * once every module is read and registers the callbacks, `unload`
     * (NULL allowed) runs after the snapshot is complete. */
    int (*define)(const char *id, const char *name, const char *version, ptsnap_load_fn load,
                  ptsnap_load_fn unload, void *user);
    /* pmodule.register(event, fn, match): `match` id 0 for none (the match
     * is copied). For PTSNAP_EVENT_PREATTACH, _ATTACH and _POSTATTACH. */
    int (*register_backtrace)(enum ptsnap_event event, ptsnap_backtrace_cb cb, ptsnap_match match, void *user);
    int (*register_thread)(ptsnap_thread_cb cb, ptsnap_match match, void *user);
    int (*register_frame)(ptsnap_frame_cb cb, ptsnap_match match, void *user);
    int (*register_variable)(ptsnap_variable_cb cb, ptsnap_match match, void *user);
    /* pmodule.log(level, text): to stderr as "[id] level: text". See
     * ptsnap_logf below for a printf-style form. */
    int (*log)(enum ptsnap_log_level level, const char *text);
    /* Why the last failed call failed (never NULL). */
    const char *(*last_error)(void);
    /* Keeps a handle valid until the module is unloaded. */
    int (*keep)(uint64_t handle);
    /* pmodule.config_option(key): the value of --module ID:KEY=VAL. */
    int (*config_option)(const char *key, const char **value);

    /* ---- match filters (pmodule.match()) ---- */
    int (*match_new)(ptsnap_match *out);
    int (*match_reset)(ptsnap_match m);
    int (*match_add_object)(ptsnap_match m, const char *name, enum ptsnap_match_type how);
    int (*match_add_file)(ptsnap_match m, const char *name, enum ptsnap_match_type how);
    int (*match_add_frame_symbol)(ptsnap_match m, const char *name, enum ptsnap_match_type how);
    int (*match_add_variable_base_type)(ptsnap_match m, const char *name, enum ptsnap_match_type how);
    int (*match_add_variable_name)(ptsnap_match m, const char *name, enum ptsnap_match_type how);
    int (*match_add_variable_ptrace_type)(ptsnap_match m, enum ptsnap_variable_type type);
    int (*match_set_fault)(ptsnap_match m, int whole_thread);

    /* ---- every object but siginfo, pmap and match ---- */
    /* obj:annotate(level, text): `object` is the id of a backtrace,
     * thread, frame or variable handle. See ptsnap_annotatef below. */
    int (*annotate)(uint64_t object, enum ptsnap_annotation level, const char *text);

    /* ---- backtrace ---- */
    int (*backtrace)(ptsnap_backtrace *out);
    int (*bt_pid)(ptsnap_backtrace bt, int64_t *pid);
    int (*bt_application_name)(ptsnap_backtrace bt, const char **name);
    int (*bt_process_state)(ptsnap_backtrace bt, enum ptsnap_process_state *state);
    int (*bt_add_kv_int)(ptsnap_backtrace bt, const char *key, int64_t value);
    int (*bt_add_kv_string)(ptsnap_backtrace bt, const char *key, const char *value);
    int (*bt_add_classifier)(ptsnap_backtrace bt, const char *name);
    int (*bt_add_tag)(ptsnap_backtrace bt, const char *name);
    int (*bt_pmap_entry)(ptsnap_backtrace bt, uint64_t address, ptsnap_pmap *out);
    /* `for thr in bt, match do`: the thread after `prev` (id 0: the
     * first) that `match` (id 0: none) takes. Returns 1 with *out set, 0 at
     * the end, or an error:
     *     ptsnap_thread t = {0};
     *     while (api->bt_next_thread(bt, m, t, &t) > 0) { ... } */
    int (*bt_next_thread)(ptsnap_backtrace bt, ptsnap_match match, ptsnap_thread prev, ptsnap_thread *out);
    /* `for var, object, cu in bt:variables(), filter do` (globals);
     * `filter` may be NULL; `object` and `cu` may be NULL. Returns 1, 0 at
     * the end, or an error. */
    int (*bt_next_global)(ptsnap_backtrace bt, const struct ptsnap_var_filter *filter, ptsnap_variable prev,
                          ptsnap_variable *out, const char **object, const char **cu);

    /* ---- thread ---- */
    int (*thread_tid)(ptsnap_thread t, int64_t *tid);
    int (*thread_fault)(ptsnap_thread t, int *faulted);
    int (*thread_n_frames)(ptsnap_thread t, int64_t *n);
    int (*thread_set_name)(ptsnap_thread t, const char *name);
    /* Adds a made frame (api->create_frame) at the bottom, or at the top
     * when `first` is nonzero. */
    int (*thread_add_frame)(ptsnap_thread t, ptsnap_frame made, int first);
    /* `for fr in thr, match do`: frames innermost first (as bt_next_thread). */
    int (*thread_next_frame)(ptsnap_thread t, ptsnap_match match, ptsnap_frame prev, ptsnap_frame *out);
    /* `for var, object, cu in thr:variables(), filter do` (TLS). */
    int (*thread_next_tls)(ptsnap_thread t, const struct ptsnap_var_filter *filter, ptsnap_variable prev,
                           ptsnap_variable *out, const char **object, const char **cu);

    /* ---- frame ---- */
    int (*frame_symbol)(ptsnap_frame f, const char **symbol);
    int (*frame_path)(ptsnap_frame f, const char **path);
    /* PTSNAP_ERR_NOT_FOUND when the line is not known (line_resolved). */
    int (*frame_line)(ptsnap_frame f, int64_t *line);
    int (*frame_decl_line)(ptsnap_frame f, int64_t *line);
    int (*frame_object_file)(ptsnap_frame f, const char **path);
    int (*frame_instruction)(ptsnap_frame f, uint64_t *pc);
    int (*frame_thread)(ptsnap_frame f, ptsnap_thread *out);
    /* The siginfo of the faulting frame; PTSNAP_ERR_NOT_FOUND for others. */
    int (*frame_siginfo)(ptsnap_frame f, ptsnap_siginfo *out);
    /* fr:fprm_at(i): parameter `i` (0-based); PTSNAP_ERR_NOT_FOUND past
     * the last one. */
    int (*frame_fprm_at)(ptsnap_frame f, int64_t i, ptsnap_variable *out);
    /* `for var in fr, match do`: parameters, then locals. */
    int (*frame_next_variable)(ptsnap_frame f, ptsnap_match match, ptsnap_variable prev, ptsnap_variable *out);
    int (*frame_set_symbol)(ptsnap_frame f, const char *symbol);
    int (*frame_set_path)(ptsnap_frame f, const char *path);
    int (*frame_set_basename)(ptsnap_frame f, const char *name);
    int (*frame_set_directory)(ptsnap_frame f, const char *dir);
    int (*frame_set_line)(ptsnap_frame f, int64_t line);
    int (*frame_set_decl_line)(ptsnap_frame f, int64_t line);
    /* Adds a made variable to the locals, after `after` (id 0: at the end). */
    int (*frame_add_variable)(ptsnap_frame f, ptsnap_variable made, ptsnap_variable after);
    /* Adds a made frame after this one. */
    int (*frame_add_frame)(ptsnap_frame f, ptsnap_frame made);

    /* ---- variable ---- */
    int (*var_name)(ptsnap_variable v, const char **name);
    int (*var_type)(ptsnap_variable v, enum ptsnap_variable_type *type);
    int (*var_type_name)(ptsnap_variable v, const char **name);
    int (*var_base_type)(ptsnap_variable v, const char **name);
    int (*var_address)(ptsnap_variable v, uint64_t *address);
    /* var:value(): an integer for ll, ull, enum and reference types (0 and
     * resolved() false when it could not be read); PTSNAP_ERR_NOT_FOUND
     * for the types whose value is nil in Lua. */
    int (*var_value_int)(ptsnap_variable v, int64_t *value);
    /* A float or double value (an integer value is converted). */
    int (*var_value_double)(ptsnap_variable v, double *value);
    /* A complex value; a part that could not be read is NaN. */
    int (*var_value_complex)(ptsnap_variable v, double *re, double *im);
    /* A string's contents, an enum's label, a function's or pointee's name. */
    int (*var_symbol)(ptsnap_variable v, const char **symbol);
    int (*var_is_string)(ptsnap_variable v, int *is_string);
    int (*var_resolved)(ptsnap_variable v, int *resolved);
    int (*var_fprm_offset)(ptsnap_variable v, int64_t *index);
    int (*var_owner)(ptsnap_variable v, ptsnap_variable *out);
    int (*var_frame)(ptsnap_variable v, ptsnap_frame *out);
    int (*var_thread)(ptsnap_variable v, ptsnap_thread *out);
    int (*var_set_ll)(ptsnap_variable v, int64_t value);
    int (*var_set_ull)(ptsnap_variable v, uint64_t value);
    int (*var_set_dbl)(ptsnap_variable v, double value);
    int (*var_set_cdbl)(ptsnap_variable v, double re, double im);
    int (*var_set_string)(ptsnap_variable v, const char *value);
    int (*var_set_ref)(ptsnap_variable v, uint64_t address);
    int (*var_set_struct)(ptsnap_variable v);
    int (*var_set_array)(ptsnap_variable v);
    /* `name` may be NULL. */
    int (*var_set_function)(ptsnap_variable v, const char *name);

    /* ---- siginfo ---- */
    int (*siginfo_num)(ptsnap_siginfo s, int64_t *num);
    int (*siginfo_code)(ptsnap_siginfo s, int64_t *code);
    int (*siginfo_address)(ptsnap_siginfo s, uint64_t *address);
    int (*siginfo_address_populated)(ptsnap_siginfo s, int *populated);
    int (*siginfo_reason)(ptsnap_siginfo s, const char **reason, int *sent_by_kill);
    /* tostring(siginfo) */
    int (*siginfo_string)(ptsnap_siginfo s, const char **text);

    /* ---- pmap ---- */
    int (*pmap_start)(ptsnap_pmap p, uint64_t *start);
    int (*pmap_end)(ptsnap_pmap p, uint64_t *end);
    int (*pmap_path)(ptsnap_pmap p, const char **path);
    int (*pmap_guard)(ptsnap_pmap p, int *guard);
    /* Whether the mapping has every permission in `perms` (PTSNAP_PMAP_*). */
    int (*pmap_permissions)(ptsnap_pmap p, unsigned perms, int *has);

    /* ---- memory, symbols and types (all events but preattach) ---- */
    /* `size` bytes at `address` into `buf`; PTSNAP_ERR_NOT_FOUND when they
     * are not all readable. */
    int (*address_read_raw)(uint64_t address, void *buf, size_t size);
    /* The NUL-terminated string at `address`, at most `bufsize - 1` bytes,
     * into `buf` (always NUL-terminated); its length in *len (NULL
     * allowed); PTSNAP_ERR_NOT_FOUND when nothing there is readable. */
    int (*address_read_string)(uint64_t address, char *buf, size_t bufsize, size_t *len);
    /* `object` may be NULL. */
    int (*symbol_address)(const char *symbol, const char *object, uint64_t *address);
    int (*address_symbol)(uint64_t address, const char **symbol);
    /* pmodule.bt_query(symbol, object, cu): `object` and `cu` may be NULL. */
    int (*bt_query)(const char *symbol, const char *object, const char *cu, ptsnap_btvar *out);
    /* btvar.field: the member, following pointers to the struct. */
    int (*btvar_field)(ptsnap_btvar b, const char *field, ptsnap_btvar *out);
    /* pmodule.deref(btvar[, address]): `address` 0 for what the pointer
     * points to. */
    int (*deref)(ptsnap_btvar b, uint64_t address, ptsnap_btvar *out);
    /* pmodule.sizeof(btvar) */
    int (*btvar_sizeof)(ptsnap_btvar b, uint64_t *size);
    /* pmodule.variable_from_bt(btvar): a temporary variable (read it with
     * the var_* functions; it is not part of the snapshot). */
    int (*variable_from_bt)(ptsnap_btvar b, ptsnap_variable *out);

    /* ---- pretty printers ---- */
    /* pmodule.create_variable(type, name, address, offset, owner):
     * `address` 0 for none; `owner` id 0 for none. */
    int (*create_variable)(enum ptsnap_variable_type type, const char *name, uint64_t address, int64_t offset,
                           ptsnap_variable owner, ptsnap_variable *out);
    int (*create_frame)(ptsnap_frame *out);

    /* ---- added in minor version 1 (check with PTSNAP_API_HAS) ---- */
    /* fr:stack_pointer(): the stack pointer in the frame (the thread's
     * for the innermost frame, the caller's value at the call for the
     * others). */
    int (*frame_stack_pointer)(ptsnap_frame f, uint64_t *sp);
    /* thr:stack_key(): a string equal for threads whose stacks are
     * identical (the same program counters, inline frames included), as
     * `ptsnap show --group` compares them. */
    int (*thread_stack_key)(ptsnap_thread t, const char **key);

    /* ---- added in minor version 2 (check with PTSNAP_API_HAS) ---- */
    /* bt:add_fault_reason(text): appends ": text" to the fault's reason
     * (the snapshot's fault.signal.reason); PTSNAP_ERR_NOT_FOUND when no
     * thread faulted. */
    int (*bt_add_fault_reason)(ptsnap_backtrace bt, const char *text);
};

/* Whether `api` has the field `field` (added in a later minor version). */
#define PTSNAP_API_HAS(api, field) \
    ((api)->size >= offsetof(struct ptsnap_api, field) + sizeof((api)->field))

/* The ABI a module was built for: exported by PTSNAP_PMODULE_INIT. */
struct ptsnap_pmodule_abi {
    uint32_t major;
    uint32_t minor;
};

#ifdef __cplusplus
#define PTSNAP_EXTERN_C extern "C"
#else
#define PTSNAP_EXTERN_C
#endif

/* Defines the module's entry point:
 *     PTSNAP_PMODULE_INIT(api) { return api->define(...); }
 * `api` stays valid while the module is loaded. */
#define PTSNAP_PMODULE_INIT(api)                                                                  \
    PTSNAP_EXTERN_C __attribute__((visibility("default"))) const struct ptsnap_pmodule_abi          \
        ptsnap_pmodule_abi = {PTSNAP_PMODULE_ABI_MAJOR, PTSNAP_PMODULE_ABI_MINOR};                 \
    PTSNAP_EXTERN_C __attribute__((visibility("default"))) int ptsnap_pmodule_init(                 \
        const struct ptsnap_api *api);                                                             \
    PTSNAP_EXTERN_C __attribute__((visibility("default"))) int ptsnap_pmodule_init(                 \
        const struct ptsnap_api *api)

/* printf-style helpers; text longer than 4095 bytes is cut. */
#define PTSNAP_FORMAT_MAX 4096

static inline int ptsnap_logf(const struct ptsnap_api *api, enum ptsnap_log_level level, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static inline int ptsnap_logf(const struct ptsnap_api *api, enum ptsnap_log_level level, const char *fmt, ...) {
    char text[PTSNAP_FORMAT_MAX];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(text, sizeof text, fmt, ap);
    va_end(ap);
    return api->log(level, text);
}

static inline int ptsnap_annotatef(const struct ptsnap_api *api, uint64_t object, enum ptsnap_annotation level,
                                   const char *fmt, ...) __attribute__((format(printf, 4, 5)));
static inline int ptsnap_annotatef(const struct ptsnap_api *api, uint64_t object, enum ptsnap_annotation level,
                                   const char *fmt, ...) {
    char text[PTSNAP_FORMAT_MAX];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(text, sizeof text, fmt, ap);
    va_end(ap);
    return api->annotate(object, level, text);
}

#ifdef __cplusplus
}
#endif

#endif /* PTSNAP_PMODULE_H */
