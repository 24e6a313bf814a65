/* dlopen()s a library with RTLD_LAZY or RTLD_NOW and reports dlerror(). Usage: load_library lazy|now PATH */
#include <dlfcn.h>
#include <stdio.h>
#include <string.h>

int main(int argc, char **argv) {
    if (argc != 3) { fprintf(stderr, "usage: load_library lazy|now PATH\n"); return 2; }
    int mode = strcmp(argv[1], "now") == 0 ? RTLD_NOW : RTLD_LAZY;
    void *h = dlopen(argv[2], mode | RTLD_LOCAL);
    if (h == NULL) { printf("dlopen failed: %s\n", dlerror()); return 1; }
    printf("dlopen %s ok\n", argv[1]);
    return 0;
}
