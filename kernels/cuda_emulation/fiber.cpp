#include "kernels/cuda_emulation/fiber.h"

#include <cstdint>
#include <new>

#if defined(__x86_64__)

// sc_emulation_switch(save, load): pushes the callee-saved registers on the current stack, stores
// the stack pointer in *save, loads `load` and pops the other context's registers. The System V ABI
// lets a called function clobber every other general register, and the kernels change neither the
// SSE control word nor the x87 one, so this is the whole context.
extern "C" void sc_emulation_switch(void** save, void* load);
extern "C" void sc_emulation_trampoline();
asm(R"(
  .text
  .globl sc_emulation_switch
  .type sc_emulation_switch, @function
sc_emulation_switch:
  pushq %rbp
  pushq %rbx
  pushq %r12
  pushq %r13
  pushq %r14
  pushq %r15
  movq %rsp, (%rdi)
  movq %rsi, %rsp
  popq %r15
  popq %r14
  popq %r13
  popq %r12
  popq %rbx
  popq %rbp
  ret
  .size sc_emulation_switch, .-sc_emulation_switch

  .globl sc_emulation_trampoline
  .type sc_emulation_trampoline, @function
sc_emulation_trampoline:
  movq %r12, %rdi
  andq $-16, %rsp
  callq *%r13
  ud2
  .size sc_emulation_trampoline, .-sc_emulation_trampoline
  .section .note.GNU-stack,"",@progbits
  .text
)");

namespace smoothcheck::cuda_emulation {

Fiber::Fiber(void* stack, std::size_t bytes) : stack_(stack), bytes_(bytes) {}
Fiber::~Fiber() = default;

void Fiber::reset(Entry entry, void* arg) {
  // A fresh stack that sc_emulation_switch can "return" into: six registers (r15, r14, r13 = entry,
  // r12 = arg, rbx, rbp) and the trampoline's address, which calls entry(arg) on an aligned stack.
  auto top = reinterpret_cast<std::uintptr_t>(static_cast<char*>(stack_) + bytes_) & ~std::uintptr_t(15);
  auto* sp = reinterpret_cast<void**>(top) - 8;
  sp[0] = nullptr;                                             // r15
  sp[1] = nullptr;                                             // r14
  sp[2] = reinterpret_cast<void*>(entry);                      // r13
  sp[3] = arg;                                                 // r12
  sp[4] = nullptr;                                             // rbx
  sp[5] = nullptr;                                             // rbp
  sp[6] = reinterpret_cast<void*>(&sc_emulation_trampoline);  // return address
  sp[7] = nullptr;
  fiber_sp_ = sp;
}

void Fiber::resume() { sc_emulation_switch(&scheduler_sp_, fiber_sp_); }
void Fiber::suspend() { sc_emulation_switch(&fiber_sp_, scheduler_sp_); }

}  // namespace smoothcheck::cuda_emulation

#else  // ucontext: slower (a signal-mask system call per switch), for machines without the x86-64 switch

#include <ucontext.h>

namespace smoothcheck::cuda_emulation {

namespace {
struct Contexts {
  ucontext_t fiber, scheduler;
  Fiber::Entry entry;
  void* arg;
};
void start(unsigned hi, unsigned lo) {
  auto* c = reinterpret_cast<Contexts*>((std::uintptr_t(hi) << 32) | std::uintptr_t(lo));
  c->entry(c->arg);
}
}  // namespace

Fiber::Fiber(void* stack, std::size_t bytes) : stack_(stack), bytes_(bytes), contexts_(new Contexts()) {}
Fiber::~Fiber() { delete static_cast<Contexts*>(contexts_); }

void Fiber::reset(Entry entry, void* arg) {
  auto* c = static_cast<Contexts*>(contexts_);
  c->entry = entry;
  c->arg = arg;
  getcontext(&c->fiber);
  c->fiber.uc_stack.ss_sp = stack_;
  c->fiber.uc_stack.ss_size = bytes_;
  c->fiber.uc_link = nullptr;
  const auto p = reinterpret_cast<std::uintptr_t>(c);
  makecontext(&c->fiber, reinterpret_cast<void (*)()>(&start), 2, unsigned(p >> 32), unsigned(p & 0xffffffffu));
}
void Fiber::resume() {
  auto* c = static_cast<Contexts*>(contexts_);
  swapcontext(&c->scheduler, &c->fiber);
}
void Fiber::suspend() {
  auto* c = static_cast<Contexts*>(contexts_);
  swapcontext(&c->fiber, &c->scheduler);
}

}  // namespace smoothcheck::cuda_emulation

#endif
