// A C++ program with known heap ground truth through new, std::string and std::vector.
//
// Node::make_chain() keeps 10000 Nodes (new), Cache::fill() keeps 2000 std::strings of
// 4000 characters in a std::vector, and churn_strings() creates and drops strings.
// Prints "ready PID", then waits for "exit" or EOF on stdin.
#include <cstdio>
#include <iostream>
#include <string>
#include <unistd.h>
#include <vector>

namespace demo {

struct Node {
        Node *next;
        char payload[120];

        __attribute__((noinline)) static Node *make_chain(int n)
        {
                Node *head = nullptr;
                for (int i = 0; i < n; i++) {
                        Node *node = new Node;
                        node->next = head;
                        node->payload[0] = static_cast<char>(i);
                        head = node;
                }
                return head;
        }
};

class Cache {
      public:
        __attribute__((noinline)) void fill(int n)
        {
                entries_.reserve(n);
                for (int i = 0; i < n; i++)
                        entries_.push_back(std::string(4000, static_cast<char>('a' + i % 26)));
        }
        size_t size() const
        {
                return entries_.size();
        }

      private:
        std::vector<std::string> entries_;
};

__attribute__((noinline)) size_t churn_strings(int n)
{
        size_t total = 0;
        for (int i = 0; i < n; i++) {
                std::string s(100 + i % 900, 'x');
                total += s.size();
        }
        return total;
}

} // namespace demo

int main()
{
        demo::Node *chain = demo::Node::make_chain(10000);
        demo::Cache *cache = new demo::Cache;
        cache->fill(2000);
        size_t churned = demo::churn_strings(100000);

        std::cout << "ready " << getpid() << std::endl;
        std::string line;
        while (std::getline(std::cin, line) && line != "exit") {
        }
        return (chain && cache->size() == 2000 && churned > 0) ? 0 : 1;
}
