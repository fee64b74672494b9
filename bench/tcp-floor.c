// The kernel floor of one TCP_CHECK on this host: a plain C client doing what
// any checker must (nonblocking socket, connect, poll for writable, SO_ERROR,
// close), optionally with keepalived's SO_LINGER {1, 5}, at a fixed rate over the
// "tcp PORT" lines of a checkers_bench port file. Prints CPU per check.
// Build: gcc -O2 -o /tmp/tcp-floor bench/tcp-floor.c
// Usage: /tmp/tcp-floor PORTFILE SECONDS RATE LINGER(0: none, 1: keepalived's {1, 5}, 2: {1, 0}, an RST close)
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <fcntl.h>
#include <poll.h>
#include <time.h>
#include <errno.h>
#include <arpa/inet.h>
#include <sys/socket.h>
#include <sys/resource.h>
static double now(void){struct timespec t;clock_gettime(CLOCK_MONOTONIC,&t);return t.tv_sec+t.tv_nsec/1e9;}
int main(int argc,char**argv){
  FILE*f=fopen(argv[1],"r"); int ports[20000],n=0; char kind[16]; int p;
  while(fscanf(f,"%15s %d",kind,&p)==2) if(!strcmp(kind,"tcp")) ports[n++]=p;
  double secs=atof(argv[2]); int rate=atoi(argv[3]); int linger=atoi(argv[4]);
  struct sockaddr_in a={0}; a.sin_family=AF_INET; a.sin_addr.s_addr=htonl(0x7f000001);
  struct rusage r0,r1; getrusage(RUSAGE_SELF,&r0); double t0=now(); long done=0,fail=0; int i=0;
  while(now()-t0<secs){
    double due=t0+(double)done/rate; if(now()<due){struct timespec ts={(time_t)due,(long)((due-(time_t)due)*1e9)};clock_nanosleep(CLOCK_MONOTONIC,TIMER_ABSTIME,&ts,NULL);}
    int fd=socket(AF_INET,SOCK_STREAM|SOCK_NONBLOCK|SOCK_CLOEXEC,IPPROTO_TCP);
    if(linger){struct linger li={1,linger==2?0:5};setsockopt(fd,SOL_SOCKET,SO_LINGER,&li,sizeof li);}
    a.sin_port=htons(ports[i]); i=(i+1)%n;
    int rc=connect(fd,(struct sockaddr*)&a,sizeof a);
    if(rc<0&&errno==EINPROGRESS){struct pollfd pf={fd,POLLOUT,0};poll(&pf,1,2000);}
    int err=0; socklen_t l=sizeof err; getsockopt(fd,SOL_SOCKET,SO_ERROR,&err,&l); if(err)fail++;
    close(fd); done++;
  }
  getrusage(RUSAGE_SELF,&r1); double el=now()-t0;
  double cpu=(r1.ru_utime.tv_sec-r0.ru_utime.tv_sec)+(r1.ru_utime.tv_usec-r0.ru_utime.tv_usec)/1e6+(r1.ru_stime.tv_sec-r0.ru_stime.tv_sec)+(r1.ru_stime.tv_usec-r0.ru_stime.tv_usec)/1e6;
  printf("{\"floor\":1,\"linger\":%d,\"checks_per_s\":%.0f,\"failures\":%ld,\"cpu_percent\":%.1f,\"us_per_check\":%.1f}\n",linger,done/el,fail,100*cpu/el,1e6*cpu/done);
  return 0;
}
