#ifndef VQVAE2_CHDF5_SHIM_H
#define VQVAE2_CHDF5_SHIM_H

#if !__has_include(<hdf5.h>)
#error "HDF5 headers not found: install libhdf5-dev and hdf5-tools (apt-get install libhdf5-dev hdf5-tools), or run launch/setup.sh"
#endif
#include <hdf5.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

/* Every entry point below starts the library this way. Without an atexit handler: HDF5 1.10's handler closes the
   files still open at exit, and closing a file whose flush failed (a full disk) crashes there. The wrapper flushes
   and closes every file itself. */
static inline void ch5_open(void) { H5dont_atexit(); H5open(); }

/* HDF5's type, property-list and flag macros expand to function calls or globals that are only valid after
   H5open(); Swift cannot import them, so each one is a function here. */
static inline hid_t ch5_native_uint8(void) { ch5_open(); return H5T_NATIVE_UINT8; }
static inline hid_t ch5_native_int16(void) { ch5_open(); return H5T_NATIVE_INT16; }
static inline hid_t ch5_native_int32(void) { ch5_open(); return H5T_NATIVE_INT32; }
static inline hid_t ch5_native_int64(void) { ch5_open(); return H5T_NATIVE_INT64; }
static inline hid_t ch5_native_uint64(void) { ch5_open(); return H5T_NATIVE_UINT64; }
static inline hid_t ch5_native_float(void) { ch5_open(); return H5T_NATIVE_FLOAT; }
static inline hid_t ch5_native_double(void) { ch5_open(); return H5T_NATIVE_DOUBLE; }
static inline hid_t ch5_c_s1(void) { ch5_open(); return H5T_C_S1; }

static inline hid_t ch5_p_default(void) { return H5P_DEFAULT; }
static inline hid_t ch5_p_dataset_create(void) { ch5_open(); return H5P_DATASET_CREATE; }
static inline hid_t ch5_p_file_access(void) { ch5_open(); return H5P_FILE_ACCESS; }
static inline hid_t ch5_p_file_create(void) { ch5_open(); return H5P_FILE_CREATE; }
static inline hid_t ch5_p_group_create(void) { ch5_open(); return H5P_GROUP_CREATE; }
static inline hid_t ch5_s_all(void) { return H5S_ALL; }
static inline hsize_t ch5_s_unlimited(void) { return H5S_UNLIMITED; }
static inline size_t ch5_variable(void) { return H5T_VARIABLE; }

static inline unsigned ch5_f_acc_rdonly(void) { return H5F_ACC_RDONLY; }
static inline unsigned ch5_f_acc_rdwr(void) { return H5F_ACC_RDWR; }
static inline unsigned ch5_f_acc_trunc(void) { return H5F_ACC_TRUNC; }
static inline unsigned ch5_f_acc_excl(void) { return H5F_ACC_EXCL; }

/* Turns off HDF5's own printing of error stacks: the Swift wrapper reports errors with file and dataset names. */
static inline void ch5_silence_errors(void) { ch5_open(); H5Eset_auto2(H5E_DEFAULT, NULL, NULL); }

/* The errnos on the calling thread's error stack, innermost first, up to `capacity`; returns how many. HDF5's
   sec2 driver writes "errno = 28, error message = 'No space left on device'" into the entry of a failed system
   call, and one failure can leave several (a failed write, then the truncate after it). Read it right after the
   failed call: the next HDF5 call clears the stack. */
typedef struct { int *numbers; int capacity; int count; } ch5_errno_list;

static inline herr_t ch5_errno_visit(unsigned position, const H5E_error2_t *entry, void *data) {
    (void)position;
    ch5_errno_list *list = (ch5_errno_list *)data;
    const char *found = entry->desc ? strstr(entry->desc, "errno = ") : NULL;
    if (found != NULL && list->count < list->capacity) {
        int number = atoi(found + strlen("errno = "));
        if (number > 0) list->numbers[list->count++] = number;
    }
    return 0;
}

static inline int ch5_stack_errnos(int *numbers, int capacity) {
    ch5_errno_list list = { numbers, capacity, 0 };
    H5Ewalk2(H5E_DEFAULT, H5E_WALK_UPWARD, ch5_errno_visit, &list);
    return list.count;
}

/* The POSIX descriptor of a file opened with the default (sec2) driver, or -1 for any other driver. */
static inline int ch5_descriptor(hid_t file) {
    hid_t access = H5Fget_access_plist(file);
    if (access < 0) return -1;
    hid_t driver = H5Pget_driver(access);
    H5Pclose(access);
    void *handle = NULL;
    if (driver != H5FD_SEC2 || H5Fget_vfd_handle(file, H5P_DEFAULT, &handle) < 0 || handle == NULL) return -1;
    return *(int *)handle;
}

/* An anonymous file in memory (memfd_create, which Swift cannot call: it is reached through syscall(2)). */
static inline int ch5_memory_file(void) { return (int)syscall(SYS_memfd_create, "vqvae2-abandoned-hdf5", 0); }

#endif
