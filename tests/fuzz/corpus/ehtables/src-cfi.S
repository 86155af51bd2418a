        .text
        .globl _start
_start:
        .cfi_startproc
        .cfi_undefined rip
        xor %ebp, %ebp
        call f_state
        call f_regs
        hlt
        .cfi_endproc

f_state:
        .cfi_startproc
        push %rbp
        .cfi_def_cfa_offset 16
        .cfi_offset rbp, -16
        mov %rsp, %rbp
        .cfi_def_cfa_register rbp
        test %rdi, %rdi
        .cfi_remember_state
        jz 1f
        pop %rbp
        .cfi_def_cfa rsp, 8
        .cfi_restore rbp
        ret
1:      .cfi_restore_state
        sub $4096, %rsp
        .cfi_escape 0x2e, 0x10
        leave
        .cfi_def_cfa rsp, 8
        .cfi_same_value rbp
        ret
        .cfi_endproc

f_regs:
        .cfi_startproc
        push %rbx
        .cfi_adjust_cfa_offset 8
        .cfi_rel_offset rbx, 0
        .cfi_register rbp, rbx
        nop
        .cfi_escape 0x10, 0x06, 0x02, 0x77, 0x10
        nop
        .cfi_escape 0x0f, 0x03, 0x77, 0x08, 0x06
        nop
        .cfi_def_cfa rsp, 16
        .cfi_escape 0x2f, 0x06, 0x02
        nop
        .cfi_escape 0x11, 0x06, 0x7e
        nop
        .cfi_escape 0x13, 0x7e
        nop
        .cfi_escape 0x12, 0x07, 0x7c
        nop
        .cfi_escape 0x14, 0x03, 0x02
        nop
        .cfi_escape 0x15, 0x03, 0x7e
        nop
        .cfi_escape 0x16, 0x03, 0x01, 0x30
        nop
        .cfi_escape 0x05, 0x06, 0x03
        nop
        .cfi_escape 0x06, 0x06
        nop
        .cfi_escape 0x07, 0x06
        pop %rbx
        .cfi_def_cfa_offset 8
        ret
        .cfi_endproc

f_signal:
        .cfi_startproc
        .cfi_signal_frame
        nop
        ret
        .cfi_endproc

f_pers:
        .cfi_startproc
        .cfi_personality 0x9b, pers_ref
        .cfi_lsda 0x1b, lsda
        push %rbp
        .cfi_def_cfa_offset 16
        .cfi_offset rbp, -16
        pop %rbp
        .cfi_def_cfa_offset 8
        ret
        .cfi_endproc
        .section .rodata
        .balign 8
pers_ref: .quad f_signal
lsda:   .byte 0xff, 0xff, 0x01, 0x00
