#ifndef VQVAE2_CHDF5_SHIM_H
#define VQVAE2_CHDF5_SHIM_H

#if !__has_include(<hdf5.h>)
#error "HDF5 headers not found: install libhdf5-dev and hdf5-tools (apt-get install libhdf5-dev hdf5-tools), or run launch/setup.sh"
#endif
#include <hdf5.h>

/* HDF5's type, property-list and flag macros expand to function calls or globals that are only valid after
   H5open(); Swift cannot import them, so each one is a function here. */
static inline hid_t ch5_native_uint8(void) { H5open(); return H5T_NATIVE_UINT8; }
static inline hid_t ch5_native_int16(void) { H5open(); return H5T_NATIVE_INT16; }
static inline hid_t ch5_native_int32(void) { H5open(); return H5T_NATIVE_INT32; }
static inline hid_t ch5_native_int64(void) { H5open(); return H5T_NATIVE_INT64; }
static inline hid_t ch5_native_uint64(void) { H5open(); return H5T_NATIVE_UINT64; }
static inline hid_t ch5_native_float(void) { H5open(); return H5T_NATIVE_FLOAT; }
static inline hid_t ch5_native_double(void) { H5open(); return H5T_NATIVE_DOUBLE; }
static inline hid_t ch5_c_s1(void) { H5open(); return H5T_C_S1; }

static inline hid_t ch5_p_default(void) { return H5P_DEFAULT; }
static inline hid_t ch5_p_dataset_create(void) { H5open(); return H5P_DATASET_CREATE; }
static inline hid_t ch5_p_file_access(void) { H5open(); return H5P_FILE_ACCESS; }
static inline hid_t ch5_p_file_create(void) { H5open(); return H5P_FILE_CREATE; }
static inline hid_t ch5_p_group_create(void) { H5open(); return H5P_GROUP_CREATE; }
static inline hid_t ch5_s_all(void) { return H5S_ALL; }
static inline hsize_t ch5_s_unlimited(void) { return H5S_UNLIMITED; }
static inline size_t ch5_variable(void) { return H5T_VARIABLE; }

static inline unsigned ch5_f_acc_rdonly(void) { return H5F_ACC_RDONLY; }
static inline unsigned ch5_f_acc_rdwr(void) { return H5F_ACC_RDWR; }
static inline unsigned ch5_f_acc_trunc(void) { return H5F_ACC_TRUNC; }
static inline unsigned ch5_f_acc_excl(void) { return H5F_ACC_EXCL; }

/* Turns off HDF5's own printing of error stacks: the Swift wrapper reports errors with file and dataset names. */
static inline void ch5_silence_errors(void) { H5Eset_auto2(H5E_DEFAULT, NULL, NULL); }

#endif
