/* placeholder until the threads example lands */
int main(void) { return 0; }
