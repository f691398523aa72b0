/*
 * codexweb-helper: the sandbox's resident command runner (tasks/sandbox/helper.py is the host
 * side; tasks/sandbox/README.md, "The resident helper").
 *
 * Started once per container and user by one `docker exec` with stdin attached, after setup
 * (never while secrets exist). It runs the user's commands without one exec (and one runc
 * process) each. The channel is the exec's own stdin/stdout pipes, which nothing else in the
 * container can open: the helper is made non-dumpable first, so a process of the same user can
 * neither open /proc/<helper>/fd/1 nor its mem/environ nor ptrace it.
 *
 * Frames, both ways: type (1 byte), id (u32 big-endian), length (u32 big-endian), payload.
 *   host -> helper  'R' run:  payload = cwd NUL command NUL (NAME=VALUE NUL)*
 *                   'K' kill: SIGKILL the command's process group
 *   helper -> host  'H' hello (id 0, payload "codexweb-helper 1 PID"), once at start
 *                   'O'/'E' a piece of the command's stdout/stderr
 *                   'X' exit: payload = the status as text (exit code, 128+signal when killed)
 *                   'F' could not start: payload = why (the host runs it the old way)
 * Each command: bash -c COMMAND in a process group of its own, stdin /dev/null, fresh pipes
 * for stdout/stderr, the helper's environment with the request's variables over it. 'X' is
 * sent once the shell was reaped and both pipes are closed (as `docker exec` does).
 * A malformed request or EOF on stdin ends the helper, after killing every command's group.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#define MAX_REQUEST (4u << 20)
#define MAX_RUNS 64
#define CHUNK 65536

struct run {
    uint32_t id;
    pid_t pid;       /* the shell, also the process group id; 0 once reaped */
    int out, err;    /* pipe read ends, -1 once closed */
    int status;
    int used;
};

static struct run runs[MAX_RUNS];
static volatile sig_atomic_t child_changed;
extern char **environ;

static void on_child(int sig) { (void)sig; child_changed = 1; }

static void die(void) {
    for (int i = 0; i < MAX_RUNS; i++)
        if (runs[i].used && runs[i].pid > 0) kill(-runs[i].pid, SIGKILL);
    _exit(0);
}

static void write_all(int fd, const void *buf, size_t len) {
    const char *p = buf;
    while (len > 0) {
        ssize_t n = write(fd, p, len);
        if (n < 0) {
            if (errno == EINTR) continue;
            die(); /* the host is gone */
        }
        p += n;
        len -= (size_t)n;
    }
}

static void put32(unsigned char *p, uint32_t v) {
    p[0] = v >> 24; p[1] = v >> 16; p[2] = v >> 8; p[3] = v;
}

static uint32_t get32(const unsigned char *p) {
    return ((uint32_t)p[0] << 24) | ((uint32_t)p[1] << 16) | ((uint32_t)p[2] << 8) | p[3];
}

static void send_frame(char type, uint32_t id, const void *data, uint32_t len) {
    unsigned char head[9];
    head[0] = (unsigned char)type;
    put32(head + 1, id);
    put32(head + 5, len);
    write_all(1, head, sizeof head);
    if (len) write_all(1, data, len);
}

static void send_text(char type, uint32_t id, const char *text) {
    send_frame(type, id, text, (uint32_t)strlen(text));
}

static struct run *find(uint32_t id) {
    for (int i = 0; i < MAX_RUNS; i++)
        if (runs[i].used && runs[i].id == id) return &runs[i];
    return NULL;
}

/* The child's environment: the helper's own, with each request variable replacing its name. */
static char **merge_env(char **req, size_t nreq) {
    size_t nown = 0;
    while (environ[nown]) nown++;
    char **env = calloc(nown + nreq + 1, sizeof *env);
    if (!env) return NULL;
    size_t n = 0;
    for (size_t i = 0; i < nown; i++) {
        size_t klen = strcspn(environ[i], "=");
        int replaced = 0;
        for (size_t j = 0; j < nreq && !replaced; j++)
            if (strncmp(req[j], environ[i], klen) == 0 && req[j][klen] == '=') replaced = 1;
        if (!replaced) env[n++] = environ[i];
    }
    for (size_t j = 0; j < nreq; j++) env[n++] = req[j];
    env[n] = NULL;
    return env;
}

static void start_run(uint32_t id, char *payload, uint32_t len) {
    /* cwd NUL command NUL (var NUL)* : every string must end inside the payload */
    if (len == 0 || payload[len - 1] != '\0') die();
    char *cwd = payload;
    char *end = payload + len;
    char *command = cwd + strlen(cwd) + 1;
    if (command >= end) die();
    char *p = command + strlen(command) + 1;
    size_t nreq = 0;
    for (char *q = p; q < end; q += strlen(q) + 1) nreq++;
    char **req = calloc(nreq + 1, sizeof *req);
    if (!req) { send_text('F', id, "out of memory"); return; }
    for (size_t i = 0; p < end; p += strlen(p) + 1) {
        if (!strchr(p, '=')) { free(req); die(); }
        req[i++] = p;
    }
    if (find(id)) { free(req); send_text('F', id, "duplicate id"); return; }
    struct run *slot = NULL;
    for (int i = 0; i < MAX_RUNS && !slot; i++)
        if (!runs[i].used) slot = &runs[i];
    if (!slot) { free(req); send_text('F', id, "too many commands at once"); return; }
    char **env = merge_env(req, nreq);
    int out[2], err[2];
    if (!env || pipe2(out, O_CLOEXEC) < 0) {
        free(req); free(env); send_text('F', id, "no pipe"); return;
    }
    if (pipe2(err, O_CLOEXEC) < 0) {
        close(out[0]); close(out[1]); free(req); free(env); send_text('F', id, "no pipe");
        return;
    }
    int devnull = open("/dev/null", O_RDONLY | O_CLOEXEC);
    pid_t pid = devnull < 0 ? -1 : fork();
    if (pid == 0) {
        setpgid(0, 0);
        sigset_t none;
        sigemptyset(&none);
        signal(SIGPIPE, SIG_DFL);
        signal(SIGCHLD, SIG_DFL);
        sigprocmask(SIG_SETMASK, &none, NULL);
        /* 0/1/2 become the new pipes: the helper's own channel is not inherited. */
        if (dup2(devnull, 0) < 0 || dup2(out[1], 1) < 0 || dup2(err[1], 2) < 0) _exit(126);
        if (chdir(cwd) < 0) {
            dprintf(2, "codexweb: cannot enter %s: %s\n", cwd, strerror(errno));
            _exit(126);
        }
        char *argv[] = {"bash", "-c", command, NULL};
        execve("/bin/bash", argv, env);
        execvpe("bash", argv, env);
        dprintf(2, "codexweb: cannot run bash: %s\n", strerror(errno));
        _exit(127);
    }
    if (devnull >= 0) close(devnull);
    close(out[1]);
    close(err[1]);
    free(req);
    free(env);
    if (pid < 0) {
        close(out[0]); close(err[0]);
        send_text('F', id, "cannot start a process");
        return;
    }
    setpgid(pid, pid); /* no race with the first kill */
    slot->used = 1;
    slot->id = id;
    slot->pid = pid;
    slot->out = out[0];
    slot->err = err[0];
    slot->status = -1;
}

static void finish_if_done(struct run *r) {
    if (!r->used || r->pid != 0 || r->out >= 0 || r->err >= 0) return;
    char text[16];
    snprintf(text, sizeof text, "%d", r->status);
    send_text('X', r->id, text);
    r->used = 0;
}

static void reap(void) {
    for (;;) {
        int status;
        pid_t pid = waitpid(-1, &status, WNOHANG);
        if (pid <= 0) return;
        for (int i = 0; i < MAX_RUNS; i++) {
            struct run *r = &runs[i];
            if (!r->used || r->pid != pid) continue;
            r->status = WIFSIGNALED(status) ? 128 + WTERMSIG(status) : WEXITSTATUS(status);
            r->pid = 0;
            finish_if_done(r);
        }
    }
}

static void drain(struct run *r, int *fd, char type) {
    static char buf[CHUNK];
    ssize_t n = read(*fd, buf, sizeof buf);
    if (n < 0 && (errno == EINTR || errno == EAGAIN)) return;
    if (n <= 0) {
        close(*fd);
        *fd = -1;
        finish_if_done(r);
        return;
    }
    send_frame(type, r->id, buf, (uint32_t)n);
}

static unsigned char *inbuf;
static size_t inlen;

static void handle_input(void) {
    if (inlen + CHUNK > MAX_REQUEST + 9 + CHUNK) die();
    ssize_t n = read(0, inbuf + inlen, CHUNK);
    if (n < 0 && errno == EINTR) return;
    if (n <= 0) die();
    inlen += (size_t)n;
    while (inlen >= 9) {
        uint32_t id = get32(inbuf + 1), len = get32(inbuf + 5);
        if (len > MAX_REQUEST) die();
        if (inlen < 9 + (size_t)len) break;
        char type = (char)inbuf[0];
        if (type == 'R') {
            start_run(id, (char *)inbuf + 9, len);
        } else if (type == 'K') {
            struct run *r = find(id);
            if (r && r->pid > 0) kill(-r->pid, SIGKILL);
        } else {
            die();
        }
        memmove(inbuf, inbuf + 9 + len, inlen - 9 - len);
        inlen -= 9 + len;
    }
}

int main(void) {
    /* First: nobody of this uid may open our fds or memory, or trace us. */
    if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) != 0) return 1;
    struct rlimit core = {0, 0};
    setrlimit(RLIMIT_CORE, &core);
    for (int fd = 3; fd < 1024; fd++) close(fd);
    signal(SIGPIPE, SIG_IGN);
    sigset_t block, none;
    sigemptyset(&block);
    sigaddset(&block, SIGCHLD);
    sigprocmask(SIG_BLOCK, &block, NULL);
    sigemptyset(&none);
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_child;
    sigaction(SIGCHLD, &sa, NULL);
    inbuf = malloc(MAX_REQUEST + 9 + CHUNK);
    if (!inbuf) return 1;
    char hello[48];
    snprintf(hello, sizeof hello, "codexweb-helper 1 %d", (int)getpid());
    send_text('H', 0, hello);
    for (;;) {
        struct pollfd fds[1 + 2 * MAX_RUNS];
        struct run *owner[1 + 2 * MAX_RUNS];
        char kind[1 + 2 * MAX_RUNS];
        nfds_t n = 0;
        fds[n].fd = 0; fds[n].events = POLLIN; owner[n] = NULL; kind[n++] = 0;
        for (int i = 0; i < MAX_RUNS; i++) {
            if (!runs[i].used) continue;
            if (runs[i].out >= 0) {
                fds[n].fd = runs[i].out; fds[n].events = POLLIN; owner[n] = &runs[i];
                kind[n++] = 'O';
            }
            if (runs[i].err >= 0) {
                fds[n].fd = runs[i].err; fds[n].events = POLLIN; owner[n] = &runs[i];
                kind[n++] = 'E';
            }
        }
        int ready = ppoll(fds, n, NULL, &none);
        if (child_changed) { child_changed = 0; reap(); }
        if (ready <= 0) continue;
        for (nfds_t i = 1; i < n; i++) {
            if (!(fds[i].revents & (POLLIN | POLLHUP | POLLERR))) continue;
            struct run *r = owner[i];
            if (!r->used) continue;
            drain(r, kind[i] == 'O' ? &r->out : &r->err, kind[i]);
        }
        if (fds[0].revents & (POLLIN | POLLHUP | POLLERR)) handle_input();
    }
}
