#ifndef GREET_H
#define GREET_H
void greet(const char *who);
int count_words(const char *text);
#endif
