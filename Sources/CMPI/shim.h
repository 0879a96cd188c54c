#ifndef VQVAE2_CMPI_SHIM_H
#define VQVAE2_CMPI_SHIM_H

#if !__has_include(<mpi.h>)
#error "Open MPI headers not found: install libopenmpi-dev and openmpi-bin (apt-get install libopenmpi-dev openmpi-bin), or run launch/setup.sh"
#endif
#include <mpi.h>
#include <sys/prctl.h>

/* Open MPI's predefined handles are macros over addresses of global structs, which Swift cannot import. */
static inline MPI_Comm cmpi_comm_world(void) { return MPI_COMM_WORLD; }
static inline MPI_Comm cmpi_comm_null(void) { return MPI_COMM_NULL; }

static inline MPI_Datatype cmpi_type_float(void) { return MPI_FLOAT; }
static inline MPI_Datatype cmpi_type_double(void) { return MPI_DOUBLE; }
static inline MPI_Datatype cmpi_type_int32(void) { return MPI_INT32_T; }
static inline MPI_Datatype cmpi_type_int64(void) { return MPI_INT64_T; }
static inline MPI_Datatype cmpi_type_uint8(void) { return MPI_UINT8_T; }
static inline MPI_Datatype cmpi_type_uint32(void) { return MPI_UINT32_T; }
static inline MPI_Datatype cmpi_type_uint64(void) { return MPI_UINT64_T; }

static inline MPI_Op cmpi_op_sum(void) { return MPI_SUM; }
static inline MPI_Op cmpi_op_max(void) { return MPI_MAX; }
static inline MPI_Op cmpi_op_min(void) { return MPI_MIN; }

static inline void *cmpi_in_place(void) { return MPI_IN_PLACE; }
static inline MPI_Request cmpi_request_null(void) { return MPI_REQUEST_NULL; }
static inline MPI_Status *cmpi_status_ignore(void) { return MPI_STATUS_IGNORE; }

static inline int cmpi_thread_single(void) { return MPI_THREAD_SINGLE; }
static inline int cmpi_thread_funneled(void) { return MPI_THREAD_FUNNELED; }
static inline int cmpi_thread_serialized(void) { return MPI_THREAD_SERIALIZED; }
static inline int cmpi_thread_multiple(void) { return MPI_THREAD_MULTIPLE; }
static inline int cmpi_success(void) { return MPI_SUCCESS; }
static inline int cmpi_max_library_version_string(void) { return MPI_MAX_LIBRARY_VERSION_STRING; }
static inline int cmpi_max_processor_name(void) { return MPI_MAX_PROCESSOR_NAME; }

/* prctl is variadic, which Swift cannot call. */
static inline int cmpi_set_parent_death_signal(int signal) { return prctl(PR_SET_PDEATHSIG, (unsigned long)signal, 0UL, 0UL, 0UL); }

#endif
