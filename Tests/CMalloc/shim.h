/* glibc's allocator statistics (mallinfo2), which Swift's Glibc module does not export: tests measure the bytes a
   layer holds with them, which the resident set cannot show once the allocator reuses freed pages. */
#include <malloc.h>
